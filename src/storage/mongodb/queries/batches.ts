import type { JsonValue, StagedOperation, StoredBatch, StoredIdempotencyKey, StoredLock } from '../../types.js'
import { batchFromDocument, lockFromDocument, operationFromDocument } from '../documents.js'
import type { MongoCollections } from '../mongo-collections.js'

export async function getBatch(c: MongoCollections, id: string, now: string): Promise<StoredBatch | undefined> {
  const doc = await c.batches.findOne({ _id: id })
  return doc === null ? undefined : batchFromDocument(doc, now)
}

/** In staging order. */
export async function listOperations(c: MongoCollections, batchId: string): Promise<StagedOperation[]> {
  const docs = await c.operations.find({ batchId }, { sort: { ordinal: 1 } }).toArray()
  return docs.map(operationFromDocument)
}

/** Unexpired, answered keys only (`claimToken: null` also matches documents without the field). */
export async function getIdempotencyKey(c: MongoCollections, userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined> {
  const doc = await c.keys.findOne({ userId, key, expiresAt: { $gt: now }, claimToken: null })
  return doc === null || doc.response === null ? undefined : { fingerprint: doc.fingerprint, response: JSON.parse(doc.response) as JsonValue }
}

/** Live leases, oldest first, then by holder. */
export async function listLocks(c: MongoCollections, collectionId: string, now: string): Promise<StoredLock[]> {
  const docs = await c.locks.find({ collectionId, expiresAt: { $gt: now } }, { sort: { acquiredAt: 1, holder: 1 } }).toArray()
  return docs.map(lockFromDocument)
}
