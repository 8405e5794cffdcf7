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
   * Transactions run with snapshot isolation, and a transaction may write a
   * document only if no other transaction has written it since its snapshot
   * was taken: if another did (committed, or still running), the write fails
   * at once with a WriteConflict, the transaction is aborted, and
   * withTransaction runs it again from the start (../transaction.ts). So the
   * transactions that took a collection and committed did so one after
   * another, each one's snapshot holding everything every earlier one wrote
   * (records, positions, leases, members, invitations), and its checks read
   * that state. This holds whether the take is the first step or not: a taker
   * that committed after this transaction's snapshot makes this write
   * conflict.
   *
   * The feed: positions are reserved here, in the transaction that writes
   * the records. The writer of position n+1 read n from the counter, so its
   * snapshot came after the commit of n's writer, and it commits later: a
   * point-in-time read (queries/records.ts, changesSince) that holds n+1
   * holds n.
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

  /** Exactly what CollectionsPort.deleteCollection lists: batches, their operations, idempotency keys and user keys stay. */
  *deleteCollection(id): Tx<void> {
    yield* step(c.collections.deleteOne({ _id: id }, { session }))
    yield* step(c.records.deleteMany({ collectionId: id }, { session }))
    yield* step(c.members.deleteMany({ collectionId: id }, { session }))
    yield* step(c.locks.deleteMany({ collectionId: id }, { session }))
    yield* step(c.invitations.deleteMany({ collectionId: id }, { session }))
    yield* step(c.collectionKeys.deleteMany({ collectionId: id }, { session }))
    yield* step(c.keyEpochs.deleteMany({ collectionId: id }, { session }))
  },

  *collectionIdsAfter(after, limit): Tx<string[]> {
    const filter = after === null ? {} : { _id: { $gt: after } }
    const docs = yield* step(c.collections.find(filter, { session, projection: { _id: 1 }, sort: { _id: 1 }, limit }).toArray())
    return docs.map((doc) => doc._id)
  },

  /** Bumps `takes` as takeCollection does, so the renewal conflicts with any transaction that took the collection meanwhile. */
  *renewCollection(id, { epoch, lockTokenGap }): Tx<boolean> {
    const result = yield* step(c.collections.updateOne({ _id: id }, { $set: { epoch }, $inc: { lockSeq: lockTokenGap, takes: 1 } }, { session }))
    return result.matchedCount > 0
  }
})
