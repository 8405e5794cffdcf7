import type { Filter } from 'mongodb'
import type { KeyEpochRow } from '../../backend.js'
import type { Page, StoredCollectionKey, StoredUserKey } from '../../types.js'
import { collectionKeyFromDocument, keyEpochFromDocument, userKeyFromDocument, type CollectionKeyDocument } from '../documents.js'
import type { MongoCollections } from '../mongo-collections.js'

/** End-to-end encryption keys, read outside transactions. */

export async function getUserKey(c: MongoCollections, userId: string): Promise<StoredUserKey | undefined> {
  const doc = await c.userKeys.findOne({ _id: userId })
  return doc === null ? undefined : userKeyFromDocument(doc)
}

export async function keyEpochs(c: MongoCollections, collectionId: string): Promise<KeyEpochRow[]> {
  return (await c.keyEpochs.find({ collectionId }, { sort: { epoch: 1 } }).toArray()).map(keyEpochFromDocument)
}

/** As SQL's SELECT_MISSING_COLLECTION_KEYS (knex/sql/encryption.ts), worked out from the members, their keys and the rows. */
export async function missingCollectionKeys(c: MongoCollections, collectionId: string): Promise<Array<{ epoch: number; userId: string }>> {
  const epochs = await keyEpochs(c, collectionId)
  if (epochs.length === 0) return []
  const members = await c.members.find({ collectionId }, { projection: { userId: 1 }, sort: { userId: 1 } }).toArray()
  const keys = await c.userKeys.find({ _id: { $in: members.map((member) => member.userId) } }, { projection: { keyVersion: 1 } }).toArray()
  const versions = new Map(keys.map((key) => [key._id, key.keyVersion]))
  const held = new Set(
    (await c.collectionKeys.find({ collectionId }, { projection: { epoch: 1, userId: 1, keyVersion: 1 } }).toArray())
      .filter((row) => versions.get(row.userId) === row.keyVersion)
      .map((row) => `${row.epoch}\u0000${row.userId}`)
  )
  const holders = members.map((member) => member.userId).filter((userId) => versions.has(userId))
  return epochs.flatMap(({ epoch }) => holders.filter((userId) => !held.has(`${epoch}\u0000${userId}`)).map((userId) => ({ epoch, userId })))
}

/** Ordered by (epoch, userId), as the unique index is. */
export async function listCollectionKeys(
  c: MongoCollections,
  collectionId: string,
  { userId, epoch, limit, skip }: { userId?: string; epoch?: number; limit: number; skip: number }
): Promise<Page<StoredCollectionKey>> {
  const filter: Filter<CollectionKeyDocument> = { collectionId }
  if (userId !== undefined) filter.userId = userId
  if (epoch !== undefined) filter.epoch = epoch
  const total = await c.collectionKeys.countDocuments(filter)
  if (limit === 0) return { total, data: [] }
  const docs = await c.collectionKeys.find(filter, { sort: { epoch: 1, userId: 1 }, skip, limit }).toArray()
  return { total, data: docs.map(collectionKeyFromDocument) }
}
