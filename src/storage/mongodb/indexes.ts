import type { Db, IndexDescription } from 'mongodb'
import { COLLECTION_NAMES, type MongoCollections } from './mongo-collections.js'

/**
 * The indexes of schema step 1 (schema-version.ts): unique where SQL has a
 * key (migrations/*.ts), plain where SQL has an index or a query needs one.
 * Released steps are never edited: a later change (a new index, or one with
 * other options, which createIndexes cannot change in place) is a new step.
 *
 * No TTL indexes: expired leases, batches, keys and invitations are removed
 * by purgeExpired and expireLeases, which report what they removed (a lease's
 * expiry is announced exactly once); MongoDB's TTL monitor would delete them
 * silently, and works only on BSON dates, not the ISO text Roost stores.
 */
export const INDEXES: ReadonlyArray<{ collection: keyof MongoCollections; indexes: IndexDescription[] }> = [
  { collection: 'users', indexes: [{ key: { email: 1 }, unique: true }] },
  {
    collection: 'records',
    indexes: [
      // The key, and the default order of findRecords.
      { key: { collectionId: 1, id: 1 }, unique: true },
      // The feed (changesSince): one position per change of a collection.
      { key: { collectionId: 1, seq: 1 }, unique: true }
    ]
  },
  {
    collection: 'members',
    indexes: [
      { key: { collectionId: 1, userId: 1 }, unique: true },
      // "Which collections may this user see", and the collections a user owns.
      { key: { userId: 1, collectionId: 1 } }
    ]
  },
  {
    collection: 'invitations',
    indexes: [{ key: { collectionId: 1 } }, { key: { inviteeUserId: 1 } }, { key: { inviteeEmail: 1 } }, { key: { expiresAt: 1 } }]
  },
  {
    collection: 'locks',
    indexes: [{ key: { collectionId: 1, userId: 1, holder: 1 }, unique: true }, { key: { expiresAt: 1 } }]
  },
  {
    collection: 'batches',
    indexes: [{ key: { userId: 1, status: 1 } }, { key: { status: 1, expiresAt: 1 } }]
  },
  {
    collection: 'operations',
    indexes: [
      { key: { batchId: 1, collectionId: 1, recordId: 1 }, unique: true },
      // Staging order (listOperations).
      { key: { batchId: 1, ordinal: 1 } }
    ]
  },
  { collection: 'keys', indexes: [{ key: { userId: 1, key: 1 }, unique: true }, { key: { expiresAt: 1 } }] }
]

/**
 * Creates the indexes (and with them the collections, which transactions
 * need to exist). Idempotent: an index that exists with the same key and
 * options is left as it is, so a step cut short, or run by two instances
 * starting at once, is harmless to run again.
 */
export async function createIndexes(db: Db): Promise<void> {
  for (const { collection, indexes } of INDEXES) {
    await db.collection(COLLECTION_NAMES[collection]).createIndexes(indexes)
  }
}
