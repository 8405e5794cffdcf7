import type { Params } from '@feathersjs/feathers'
import { requireUser as user } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import type { StoredKeyEpoch } from '../../storage/types.js'
import { collection, requireDistinctUsers, toCollectionKey } from '../collection-keys/collection-keys.class.js'
import type { KeyEpoch, KeyEpochCreate, KeyEpochCreated } from './key-epochs.schema.js'

export const toKeyEpoch = (epoch: StoredKeyEpoch): KeyEpoch => ({ ...epoch, missing: [...epoch.missing] })

/**
 * The key epochs of one collection (/collections/:collectionId/key-epochs),
 * ids are epoch numbers. Any member lists them (a plain array: epochs are
 * few, one per rotation); owners and admins start the next one, with its key
 * wrapped for every member that has a public key. Storage checks the epoch
 * number, the members and their key versions in the transaction that takes
 * the collection, as membership changes do, so an epoch can never miss a
 * member who joined meanwhile: a 409 says what changed (`data.reason`).
 * A new epoch is announced as a `collections keys` event after it committed.
 */
export class KeyEpochService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: Params): Promise<KeyEpoch[]> {
    const epochs = await this.storage.listKeyEpochs(collection(params).id, user(params).id)
    return epochs.map(toKeyEpoch)
  }

  async create(data: KeyEpochCreate, params: Params): Promise<KeyEpochCreated> {
    const target = collection(params)
    requireDistinctUsers(data.keys)
    const created = await this.storage.createKeyEpoch({ collectionId: target.id, epoch: data.epoch, keys: data.keys, actorId: user(params).id, at: nowIso(this.app) })
    this.app.service('collections').announceKeys(target, created.epoch.epoch, 'epoch')
    return { epoch: toKeyEpoch(created.epoch), keys: created.keys.map(toCollectionKey) }
  }
}
