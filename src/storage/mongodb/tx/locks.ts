import type { Filter } from 'mongodb'
import type { LocksTx, Tx } from '../../backend.js'
import type { StoredLock } from '../../types.js'
import { lockFromDocument, lockToDocument, type LockDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

/** Oldest first, then by holder (LocksTx.listLeases). */
const LEASE_ORDER = { acquiredAt: 1, holder: 1 } as const

export const locksTx = ({ c, session }: TxContext): LocksTx => ({
  *listLeases(collectionId): Tx<StoredLock[]> {
    const docs = yield* step(c.locks.find({ collectionId }, { session, sort: LEASE_ORDER }).toArray())
    return docs.map(lockFromDocument)
  },

  *liveExclusiveLease(collectionId, now): Tx<StoredLock | undefined> {
    const doc = yield* step(c.locks.findOne({ collectionId, mode: 'exclusive', expiresAt: { $gt: now } }, { session }))
    return doc === null ? undefined : lockFromDocument(doc)
  },

  /**
   * Reads the matching leases, then deletes exactly those. In the
   * transaction's snapshot that is exact: a lease deleted meanwhile by
   * someone else (expireLeases, outside transactions) makes this delete
   * conflict, and the transaction runs again.
   */
  *deleteLeases(collectionId, match): Tx<StoredLock[]> {
    const filter: Filter<LockDocument> = { collectionId }
    if (match.userId !== undefined) filter.userId = match.userId
    if (match.holder !== undefined) filter.holder = match.holder
    if (match.mode !== undefined) filter.mode = match.mode
    if (match.expiredAt !== undefined) filter.expiresAt = { $lte: match.expiredAt }
    const docs = yield* step(c.locks.find(filter, { session, sort: LEASE_ORDER }).toArray())
    if (docs.length > 0) yield* step(c.locks.deleteMany({ _id: { $in: docs.map((doc) => doc._id) } }, { session }))
    return docs.map(lockFromDocument)
  },

  *insertLease(lock): Tx<void> {
    yield* step(c.locks.insertOne(lockToDocument(lock), { session }))
  },

  *setLeaseExpiry(collectionId, userId, holder, expiresAt): Tx<void> {
    yield* step(c.locks.updateOne({ collectionId, userId, holder }, { $set: { expiresAt } }, { session }))
  }
})
