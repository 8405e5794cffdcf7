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
 * The indexes of schema step 2, end-to-end encryption keys
 * (migrations/20261203000000_encryption_keys.ts). User keys are keyed by
 * `_id` (the user id).
 */
export const ENCRYPTION_INDEXES: ReadonlyArray<{ collection: keyof MongoCollections; indexes: IndexDescription[] }> = [
  { collection: 'keyEpochs', indexes: [{ key: { collectionId: 1, epoch: 1 }, unique: true }] },
  {
    collection: 'collectionKeys',
    indexes: [
      // The key, and the order keys are listed in.
      { key: { collectionId: 1, epoch: 1, userId: 1 }, unique: true },
      // A member's keys: removing them, and a member reading their own.
      { key: { collectionId: 1, userId: 1 } }
    ]
  },
  // Invitations gain a field (`keys`), which needs no index.
  { collection: 'userKeys', indexes: [] }
]

/**
 * Creates the indexes of one step (and with them the collections, which
 * transactions need to exist). Idempotent: an index that exists with the
 * same key and options is left as it is, so a step cut short, or run by two
 * instances starting at once, is harmless to run again.
 */
const creating =
  (list: ReadonlyArray<{ collection: keyof MongoCollections; indexes: IndexDescription[] }>) =>
  async (db: Db): Promise<void> => {
    for (const { collection, indexes } of list) {
      const name = COLLECTION_NAMES[collection]
      if (indexes.length > 0) {
        await db.collection(name).createIndexes(indexes)
      } else if ((await db.listCollections({ name }, { nameOnly: true }).toArray()).length === 0) {
        // No index of its own, but a transaction cannot create a collection on an older server: made here.
        await db.createCollection(name).catch((error: { codeName?: string }) => {
          if (error.codeName !== 'NamespaceExists') throw error
        })
      }
    }
  }

export const createIndexes = creating(INDEXES)
export const createEncryptionIndexes = creating(ENCRYPTION_INDEXES)
