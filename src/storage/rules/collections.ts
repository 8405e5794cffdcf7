import type { StorageTx, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { CollectionRemoval } from '../port.js'
import type { CollectionQuota, StoredCollection } from '../types.js'
import { requireRole } from './authorize.js'

/** Creating, renaming and deleting collections (CollectionsPort). */

/**
 * The creator becomes its one owner. The quota is counted with the user
 * taken, so concurrent creates by one user are ordered and cannot together
 * pass it.
 */
export function* createCollection(tx: StorageTx, collection: StoredCollection, quota: CollectionQuota | undefined): Tx<StoredCollection> {
  if (!(yield* tx.takeUser(collection.ownerId))) throw new StorageError('not-found', `User ${collection.ownerId} does not exist`)
  if (quota !== undefined) {
    const owned = yield* tx.countOwned(collection.ownerId)
    if (owned >= quota.maxOwnedPerUser) {
      throw new StorageError('quota-exceeded', `You own ${owned} collections; the limit is ${quota.maxOwnedPerUser} (quotas.collectionsPerUser)`)
    }
  }
  yield* tx.insertCollection(collection)
  yield* tx.insertMember({ collectionId: collection.id, userId: collection.ownerId, role: 'owner', at: collection.createdAt })
  return collection
}

/** Admins and owners rename. */
export function* renameCollection(tx: StorageTx, params: { id: string; name: string | null; actorId: string; at: string }): Tx<StoredCollection> {
  const taken = yield* tx.takeCollection(params.id, { roleOf: params.actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${params.id} does not exist`)
  requireRole(taken, 'admin', 'Renaming a collection')
  return yield* tx.setCollectionName(params.id, params.name, params.at)
}

/** Owners delete; the members at that moment are returned, to be told. */
export function* deleteCollection(tx: StorageTx, params: { id: string; actorId: string }): Tx<CollectionRemoval> {
  const taken = yield* tx.takeCollection(params.id, { roleOf: params.actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${params.id} does not exist`)
  requireRole(taken, 'owner', 'Deleting a collection')
  const members = yield* tx.memberRoles(params.id)
  yield* tx.deleteCollection(params.id)
  return { collection: taken.collection, members }
}
