import { randomUUID } from 'node:crypto'
import type { NewUser, PurgeResult, StoredLock, StoredUser } from '../types.js'
import { lockFromDocument, userFromDocument, type UserDocument } from './documents.js'
import type { MongoCollections } from './mongo-collections.js'

/** The writes no rule governs (Backend): each a single-document or idempotent write, outside transactions. */

/** A taken e-mail fails on the unique index (DuplicateKey): 'already-exists'. */
export async function createUser(c: MongoCollections, user: NewUser, at: string): Promise<StoredUser> {
  const doc: UserDocument = { _id: randomUUID(), email: user.email, password: user.password, createdAt: at, takes: 0 }
  await c.users.insertOne(doc)
  return userFromDocument(doc)
}

export async function setUserPassword(c: MongoCollections, id: string, password: string): Promise<boolean> {
  const result = await c.users.updateOne({ _id: id }, { $set: { password } })
  return result.matchedCount === 1
}

/**
 * Housekeeping as separate statements, not one transaction: each step keeps
 * every guarantee on its own (a batch past its expiry already reads as
 * expired and can take nothing more; only open batches keep operations), and
 * one transaction over an unbounded number of documents could outlive
 * MongoDB's transaction time limit (60 s by default).
 */
export async function purgeExpired(c: MongoCollections, now: string, retainUntil: string): Promise<PurgeResult> {
  const expired = await c.batches.updateMany({ status: 'open', expiresAt: { $lte: now } }, { $set: { status: 'expired' } })
  // Only open batches keep operations: drop those of every other (and of batches gone).
  const staged = await c.operations.distinct('batchId')
  if (staged.length > 0) {
    const open = new Set((await c.batches.find({ _id: { $in: staged }, status: 'open' }, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id))
    const closed = staged.filter((id) => !open.has(id))
    if (closed.length > 0) await c.operations.deleteMany({ batchId: { $in: closed } })
  }
  const batches = await c.batches.deleteMany({ status: { $ne: 'open' }, expiresAt: { $lte: retainUntil } })
  const keys = await c.keys.deleteMany({ expiresAt: { $lte: now } })
  const invitations = await c.invitations.deleteMany({
    $or: [{ expiresAt: { $lte: retainUntil } }, { status: { $ne: 'pending' }, answeredAt: { $lte: retainUntil } }]
  })
  return {
    expiredBatches: expired.modifiedCount,
    deletedBatches: batches.deletedCount,
    deletedKeys: keys.deletedCount,
    deletedInvitations: invitations.deletedCount
  }
}

/**
 * Deletes expired leases one findOneAndDelete at a time: each returns the
 * document it deleted, and a document is deleted once, so each lease is
 * returned exactly once across server instances running this together. A
 * lease a transaction is renewing meanwhile is deleted only if it is still
 * expired once that transaction has committed.
 */
export async function expireLeases(c: MongoCollections, now: string): Promise<StoredLock[]> {
  const expired: StoredLock[] = []
  for (;;) {
    const doc = await c.locks.findOneAndDelete({ expiresAt: { $lte: now } }, { sort: { acquiredAt: 1, holder: 1 } })
    if (doc === null) return expired
    expired.push(lockFromDocument(doc))
  }
}
