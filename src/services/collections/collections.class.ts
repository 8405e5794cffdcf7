import { randomUUID } from 'node:crypto'
import { Conflict } from '@feathersjs/errors'
import type { Paginated, Params } from '@feathersjs/feathers'
import { authorizeCollection, requireUser as user } from '../../access.js'
import { nowIso } from '../../clock.js'
import { encodeCursor } from '../../cursor.js'
import type { Application } from '../../declarations.js'
import { pageOf } from '../../paging.js'
import { isStorageError } from '../../storage/index.js'
import type { CollectionWithRole, CommitResult, StoredCollection, StoredMember } from '../../storage/types.js'
import type { CollectionEventContext } from '../../channels.js'
import type { KeysEvent } from '../key-epochs/key-epochs.schema.js'
import type { MemberEvent } from '../members/members.schema.js'
import { toMember } from '../members/members.class.js'
import type { ChangeEvent, Collection, CollectionData, CollectionPatch, CollectionQuery } from './collections.schema.js'

export type CollectionParams = Params<CollectionQuery>

export const toPublicCollection = (collection: CollectionWithRole): Collection => ({
  id: collection.id,
  name: collection.name,
  ownerId: collection.ownerId,
  role: collection.role,
  cursor: encodeCursor(collection, collection.seq),
  createdAt: collection.createdAt,
  updatedAt: collection.updatedAt
})

/**
 * Collections of records. Besides CRUD it owns the realtime `change` event
 * for all records in a collection: one service path that socket clients can
 * listen on, where the nested records path (with its :collectionId) would
 * not match the client-side service names.
 */
export class CollectionService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: CollectionParams): Promise<Paginated<Collection>> {
    const { limit, skip } = pageOf(this.app, params.query)
    const page = await this.storage.listCollections({ memberId: user(params).id, limit, skip })
    return { total: page.total, limit, skip, data: page.data.map(toPublicCollection) }
  }

  async get(id: string, params: CollectionParams): Promise<Collection> {
    return toPublicCollection(await authorizeCollection(this.storage, user(params), id, 'read'))
  }

  async create(data: CollectionData, params: CollectionParams): Promise<Collection> {
    try {
      const created = await this.storage.createCollection(
        { id: data.id ?? randomUUID(), name: data.name ?? null, ownerId: user(params).id },
        nowIso(this.app),
        { maxOwnedPerUser: this.app.get('quotas').collectionsPerUser }
      )
      return toPublicCollection({ ...created, role: 'owner' })
    } catch (error) {
      if (isStorageError(error) && error.kind === 'already-exists') {
        throw new Conflict(`Collection "${data.id}" already exists`)
      }
      throw error
    }
  }

  async patch(id: string, data: CollectionPatch, params: CollectionParams): Promise<Collection> {
    const { role } = await authorizeCollection(this.storage, user(params), id, 'manage')
    const renamed = await this.storage.renameCollection({ id, name: data.name, actorId: user(params).id, at: nowIso(this.app) })
    return toPublicCollection({ ...renamed, role })
  }

  /** Owners only. Every member at that moment hears of it (channels.ts). */
  async remove(id: string, params: CollectionParams): Promise<Collection> {
    const { role } = await authorizeCollection(this.storage, user(params), id, 'delete')
    // The members as the deletion found them, read in its transaction: they all hear of it.
    const removal = await this.storage.deleteCollection({ id, actorId: user(params).id })
    params.formerMembers = removal.members
    return toPublicCollection({ ...removal.collection, role })
  }

  /** Tells the members (and the member concerned) that someone joined, changed role or left; after the commit. */
  announceMember(collection: StoredCollection, type: MemberEvent['type'], member: StoredMember): void {
    const event: MemberEvent = { collectionId: collection.id, type, member: toMember(member) }
    const context: CollectionEventContext = { collection, concerned: member.userId }
    this.emit('member', event, { app: this.app, path: 'collections', service: this, result: event, ...context })
  }

  /**
   * Tells the members that an epoch was started or keys were added to one;
   * after the commit. It carries no key: each member fetches their own.
   */
  announceKeys(collection: Pick<StoredCollection, 'id'>, epoch: number, type: KeysEvent['type']): void {
    const event: KeysEvent = { collectionId: collection.id, epoch, type }
    const context: CollectionEventContext = { collection }
    this.emit('keys', event, { app: this.app, path: 'collections', service: this, result: event, ...context })
  }

  /**
   * Emits one `change` event per committed record. Called only after the
   * transaction has committed, so nobody hears of a change they cannot pull.
   */
  announceChanges(collections: Array<Pick<StoredCollection, 'id'>>, result: CommitResult): void {
    for (const record of result.records) {
      const collection = collections.find((candidate) => candidate.id === record.collectionId)
      const position = result.positions[record.collectionId]
      if (collection === undefined || position === undefined) continue
      const event: ChangeEvent = {
        collectionId: record.collectionId,
        seq: record.seq,
        cursor: encodeCursor(position, record.seq),
        record
      }
      // The second argument stands in for a hook context: channels.ts reads
      // the collection from it to decide who may receive the event.
      this.emit('change', event, { app: this.app, path: 'collections', service: this, result: event, collection })
    }
  }

  // Provided by Feathers' event mixin once the service is registered.
  declare emit: (event: string, ...args: unknown[]) => boolean
}

