import { BadRequest } from '@feathersjs/errors'
import type { Paginated, Params } from '@feathersjs/feathers'
import { allows, requireUser as user, roleTooLow } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { pageOf } from '../../paging.js'
import type { CollectionWithRole, StoredCollectionKey } from '../../storage/types.js'
import type { CollectionKey, CollectionKeyQuery, CollectionKeysAdd, WrappedKey } from './collection-keys.schema.js'

export type CollectionKeyParams = Params<CollectionKeyQuery>

export const toCollectionKey = (key: StoredCollectionKey): CollectionKey => ({ ...key, wrappedKey: key.wrappedKey as WrappedKey })

/** One key per user in a request: two for one user would leave it to chance which is kept. */
export function requireDistinctUsers(keys: Array<{ userId: string }>): void {
  const seen = new Set<string>()
  for (const [index, { userId }] of keys.entries()) {
    if (seen.has(userId)) throw new BadRequest(`"data.keys.${index}.userId": user "${userId}" has a key earlier in "data.keys"; one key per user`)
    seen.add(userId)
  }
}

/**
 * The wrapped collection keys of one collection
 * (/collections/:collectionId/keys), one per member and epoch. The hooks
 * have authenticated the caller and authorized the collection (any member
 * lists; adding needs owner or admin). A member who does not manage the
 * collection sees only their own keys: asking for someone else's is a 403,
 * checked here for a clear answer and again by storage. Adding keys is
 * announced as a `collections keys` event after it committed.
 */
export class CollectionKeyService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: CollectionKeyParams): Promise<Paginated<CollectionKey>> {
    const target = collection(params)
    const me = user(params).id
    const query = params.query ?? {}
    const manager = allows(target.role, 'manage')
    if (!manager && query.userId !== undefined && query.userId !== me) throw roleTooLow(target.id, target.role, 'admin')
    const { limit, skip } = pageOf(this.app, query)
    const page = await this.storage.listCollectionKeys(target.id, {
      actorId: me,
      // Members who do not manage see their own keys only: that is also the default filter for them.
      userId: query.userId ?? (manager ? undefined : me),
      epoch: query.epoch,
      limit,
      skip
    })
    return { total: page.total, limit, skip, data: page.data.map(toCollectionKey) }
  }

  async create(data: CollectionKeysAdd, params: CollectionKeyParams): Promise<CollectionKey[]> {
    const target = collection(params)
    requireDistinctUsers(data.keys)
    const written = await this.storage.addCollectionKeys({ collectionId: target.id, epoch: data.epoch, keys: data.keys, actorId: user(params).id, at: nowIso(this.app) })
    // Rows that were there already are not written again, and not announced.
    if (written.length > 0) this.app.service('collections').announceKeys(target, data.epoch, 'keys')
    return written.map(toCollectionKey)
  }
}

/** The hooks put the authorized collection on params before any method runs. */
export const collection = (params: Params): CollectionWithRole => {
  if (!params.collection) throw new Error('authorizeRouteCollection() must run before the key services')
  return params.collection
}
