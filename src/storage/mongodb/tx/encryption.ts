import type { EncryptionTx, KeyEpochRow, Tx } from '../../backend.js'
import type { StoredCollectionKey, StoredUserKey } from '../../types.js'
import { collectionKeyFromDocument, collectionKeyToDocument, keyEpochFromDocument, userKeyFromDocument, userKeyToDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const encryptionTx = ({ c, session }: TxContext): EncryptionTx => ({
  *getUserKey(userId): Tx<StoredUserKey | undefined> {
    const doc = yield* step(c.userKeys.findOne({ _id: userId }, { session }))
    return doc === null ? undefined : userKeyFromDocument(doc)
  },

  *putUserKey(key): Tx<void> {
    const { _id, ...fields } = userKeyToDocument(key)
    yield* step(c.userKeys.replaceOne({ _id }, fields, { session, upsert: true }))
  },

  /** Every member with their key's version, as SQL's LEFT JOIN gives it. */
  *memberKeyVersions(collectionId): Tx<Array<{ userId: string; keyVersion: number | null }>> {
    const members = yield* step(c.members.find({ collectionId }, { session, projection: { userId: 1 }, sort: { userId: 1 } }).toArray())
    const keys = yield* step(
      c.userKeys.find({ _id: { $in: members.map((member) => member.userId) } }, { session, projection: { keyVersion: 1 } }).toArray()
    )
    const versions = new Map(keys.map((key) => [key._id, key.keyVersion]))
    return members.map((member) => ({ userId: member.userId, keyVersion: versions.get(member.userId) ?? null }))
  },

  *keyEpochs(collectionId): Tx<KeyEpochRow[]> {
    const docs = yield* step(c.keyEpochs.find({ collectionId }, { session, sort: { epoch: 1 } }).toArray())
    return docs.map(keyEpochFromDocument)
  },

  /** A taken epoch fails on the unique index (DuplicateKey): 'already-exists'. */
  *insertKeyEpoch(epoch): Tx<void> {
    yield* step(c.keyEpochs.insertOne({ ...epoch }, { session }))
  },

  *getCollectionKeys(collectionId, epoch, userIds): Tx<StoredCollectionKey[]> {
    const docs = yield* step(c.collectionKeys.find({ collectionId, epoch, userId: { $in: userIds } }, { session }).toArray())
    return docs.map(collectionKeyFromDocument)
  },

  *putCollectionKeys(keys): Tx<void> {
    if (keys.length === 0) return
    const operations = keys.map((key) => {
      const doc = collectionKeyToDocument(key)
      return { replaceOne: { filter: { collectionId: doc.collectionId, epoch: doc.epoch, userId: doc.userId }, replacement: doc, upsert: true } }
    })
    yield* step(c.collectionKeys.bulkWrite(operations, { session, ordered: true }))
  },

  *deleteUserCollectionKeys(collectionId, userId): Tx<void> {
    yield* step(c.collectionKeys.deleteMany({ collectionId, userId }, { session }))
  }
})
