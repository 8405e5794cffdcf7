import { StorageError } from '../../errors.js'
import type { CollectionsTx, TakenCollection, Tx } from '../../backend.js'
import type { StoredCollection } from '../../types.js'
import { collectionFromDocument, collectionToDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const collectionsTx = ({ c, session }: TxContext): CollectionsTx => ({
  /**
   * Linearizability per collection (port.ts) on MongoDB. Every transaction
   * that takes a collection writes its document: the counters it reserves,
   * and `takes`, bumped every time so that the write is never a no-op (an
   * update that changes nothing writes nothing, and conflicts with nothing).
   * Transactions run with snapshot isolation, and MongoDB lets two
   * transactions write one document only if neither's snapshot misses the
   * other's commit: the second writer gets a WriteConflict, its transaction
   * is aborted, and withTransaction runs it again from the start
   * (../transaction.ts). So of the transactions that took a collection and
   * committed, each one's snapshot holds everything every earlier one wrote
   * (records, positions, leases, members, invitations), and its checks read
   * that state. This holds whether the take is the first step or not: a
   * taker that committed after this transaction's snapshot was taken makes
   * this write conflict.
   */
  *takeCollection(id, options = {}): Tx<TakenCollection | undefined> {
    const doc = yield* step(
      c.collections.findOneAndUpdate(
        { _id: id },
        { $inc: { seq: options.positions ?? 0, lockSeq: options.lockToken === true ? 1 : 0, takes: 1 } },
        { session, returnDocument: 'after' }
      )
    )
    if (doc === null) return undefined
    let role: TakenCollection['role']
    if (options.roleOf !== undefined) {
      const member = yield* step(c.members.findOne({ collectionId: id, userId: options.roleOf }, { session }))
      role = member?.role
    }
    return { collection: collectionFromDocument(doc), lockSeq: doc.lockSeq, role }
  },

  *insertCollection(collection): Tx<void> {
    // A taken id fails with DuplicateKey, which ends the transaction: 'already-exists' (../errors.ts).
    yield* step(c.collections.insertOne(collectionToDocument(collection), { session }))
  },

  *setCollectionName(id, name, at): Tx<StoredCollection> {
    const doc = yield* step(c.collections.findOneAndUpdate({ _id: id }, { $set: { name, updatedAt: at } }, { session, returnDocument: 'after' }))
    if (doc === null) throw new StorageError('not-found', `Collection ${id} does not exist`)
    return collectionFromDocument(doc)
  },

  /** Exactly what CollectionsPort.deleteCollection lists: batches, their operations and idempotency keys stay. */
  *deleteCollection(id): Tx<void> {
    yield* step(c.collections.deleteOne({ _id: id }, { session }))
    yield* step(c.records.deleteMany({ collectionId: id }, { session }))
    yield* step(c.members.deleteMany({ collectionId: id }, { session }))
    yield* step(c.locks.deleteMany({ collectionId: id }, { session }))
    yield* step(c.invitations.deleteMany({ collectionId: id }, { session }))
  }
})
