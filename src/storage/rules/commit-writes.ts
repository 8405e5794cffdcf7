import type { StorageTx, Tx } from '../backend.js'
import { StorageError, type RecordConflict, type StaleCollection } from '../errors.js'
import { byId } from '../../ids.js'
import { atLeast } from '../roles.js'
import type { CollectionCondition, CommitOutcome, CommitResult, MemberRole, RecordWrite, StoredRecord, WriteContext, WriteOutcome } from '../types.js'
import { replayIfDone } from './idempotency.js'
import { checkWriteLock } from './locks.js'
import { planWrite } from './plan-write.js'
import { groupByCollection, readCurrent, recordKey } from './records.js'
import { insertWithoutReading, updateWithoutReading } from './shortcuts.js'

/**
 * # The algorithm of a versioned write
 *
 * Every record write (a single call, a multi-record call, a batch commit)
 * runs this, in one transaction of the backend (calls that queued behind
 * another write to their collection run commit-group.ts instead, which gives
 * each the outcome this would):
 *
 * 1. **Take each collection written** (sorted by id, so two commits over the
 *    same collections cannot deadlock) and reserve as many change positions
 *    as it gets writes: its counter moves from `n` to `n + k`. With
 *    `requireRole`, the author's role is read right after the take.
 * 2. **Idempotency**: a retry of a request already applied finds its key and
 *    gets the first answer; nothing is applied again.
 * 3. **Leases**: under someone else's live exclusive lease, or with a lock
 *    token that is not the live lease's, the write fails ('locked').
 * 4. **Conditions** ("fail if the collection changed after position s").
 * 5. **Read the current records** and let plan-write.ts decide each write's
 *    next state or its conflict. Any conflict fails the whole commit, listing
 *    every one; nothing is applied.
 * 6. **Write** the records at positions `n + 1 … n + k`, each update still a
 *    compare-and-set on the version read, and store the idempotency key with
 *    the result, in the same transaction.
 *
 * ## Why the feed has no gaps
 *
 * A reader asks for changes with a position after `s`. A gap would be a
 * position it skipped and never sees: `s + 2` visible while `s + 1` is still
 * to come. That cannot happen because positions are reserved by taking the
 * collection, and a collection is taken by one transaction at a time: the
 * next taker sees the counter only after this transaction has committed (or
 * rolled back, which returns the positions, since the counter's change rolls
 * back with it). So a collection's positions commit in order, all of one
 * commit at once, and every position below the counter is either committed or
 * was never handed out. How each backend takes a collection: SQL takes the
 * collection's row lock with the counter's UPDATE (held to commit; SQLite has
 * one writer at a time anyway); MongoDB updates the collection's document in
 * its transaction, so two writers of one collection conflict and the later
 * one is retried after the first committed (see PROTOCOL.md, "Why the feed has
 * no gaps").
 *
 * A record's row holds its latest version at its latest position, so an
 * update moves the record to the end of the feed: a reader that already
 * passed its old position sees it again at the new one. Tombstones are
 * records with `deleted: true`, so deletes travel the same way.
 */
export function* commitWrites(
  tx: StorageTx,
  writes: RecordWrite[],
  context: WriteContext,
  conditions: CollectionCondition[] = [],
  shortcuts = false
): Tx<CommitOutcome> {
  assertDistinct(writes)
  const byCollection = groupByCollection(writes)
  const collectionIds = [...new Set([...byCollection.keys(), ...conditions.map((condition) => condition.collectionId)])].sort()

  // 1. Take the collections and reserve positions.
  const positions: CommitResult['positions'] = {}
  const before = new Map<string, number>()
  const everLocked = new Set<string>()
  for (const collectionId of collectionIds) {
    const count = byCollection.get(collectionId)?.length ?? 0
    const checked = count > 0 && context.requireRole !== undefined
    const taken = yield* tx.takeCollection(collectionId, { positions: count, ...(checked ? { roleOf: context.actor ?? '' } : {}) })
    // To someone not allowed in, a missing collection looks like any other they are not a member of.
    if (checked) checkRole(collectionId, taken?.role, context.requireRole!)
    if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
    positions[collectionId] = { seq: taken.collection.seq, epoch: taken.collection.epoch }
    before.set(collectionId, taken.collection.seq - count)
    if (taken.lockSeq > 0) everLocked.add(collectionId)
  }

  // 2. Idempotency: a replay rolls the reservation back.
  if (context.idempotency) yield* replayIfDone(tx, context.idempotency, context.at)

  // 3. Leases. A collection never locked (and no token sent) costs nothing.
  for (const collectionId of byCollection.keys()) {
    const token = byId(context.lockTokens, collectionId)
    if (everLocked.has(collectionId) || token !== undefined) yield* checkWriteLock(tx, collectionId, context.actor, token, context.at)
  }

  // 4. Conditions.
  const stale: StaleCollection[] = conditions
    .filter((condition) => before.get(condition.collectionId)! > condition.seq)
    .map((condition) => ({ collectionId: condition.collectionId, seq: before.get(condition.collectionId)!, epoch: positions[condition.collectionId].epoch }))

  // Speed-ups (shortcuts.ts): the same outcome with fewer reads, or undefined to go the reference way.
  if (shortcuts && stale.length === 0) {
    const done = (yield* updateWithoutReading(tx, writes, context, before)) ?? (yield* insertWithoutReading(tx, writes, context, before))
    if (done !== undefined) return yield* finish(tx, { ...done, positions }, context)
  }

  // 5. Read the current records and plan every write.
  const current = yield* readCurrent(tx, byCollection)
  const nextSeq = new Map([...before].map(([collectionId, seq]) => [collectionId, seq + 1]))
  const conflicts: RecordConflict[] = []
  const records: StoredRecord[] = []
  const outcomes: WriteOutcome[] = []
  for (const write of writes) {
    const existing = current.get(recordKey(write.collectionId, write.id))
    const plan = planWrite(existing, write, context)
    if (!plan.ok) {
      conflicts.push(plan.conflict)
      continue
    }
    const seq = nextSeq.get(write.collectionId)!
    nextSeq.set(write.collectionId, seq + 1)
    records.push({ ...plan.next, seq })
    outcomes.push(plan.next.deleted ? 'deleted' : existing === undefined || existing.deleted ? 'created' : 'updated')
  }
  if (conflicts.length > 0 || stale.length > 0) {
    const message = conflicts.length > 0 ? `${conflicts.length} of ${writes.length} writes conflict` : `${stale.length} collection(s) changed since the cursor given`
    throw new StorageError('conflict', message, { conflicts, stale })
  }

  // 6. Write. Updates are still compare-and-set on the version read, so even
  //    a backend that failed to keep the collection taken could not lose an update.
  const inserts: StoredRecord[] = []
  for (const record of records) {
    const previous = current.get(recordKey(record.collectionId, record.id))
    if (previous === undefined) {
      inserts.push(record)
    } else if (!(yield* tx.replaceRecord(record, { version: previous.version }))) {
      throw new StorageError('conflict', 'The record changed during the write', {
        conflicts: [{ collectionId: record.collectionId, id: record.id, reason: 'version-mismatch', current: previous }]
      })
    }
  }
  if (inserts.length > 0) yield* tx.insertRecords(inserts)
  return yield* finish(tx, { records, outcomes, positions }, context)
}

/** Stores the idempotency key with the result, in the write's transaction. */
function* finish(tx: StorageTx, result: CommitResult, context: WriteContext): Tx<CommitOutcome> {
  if (context.idempotency) yield* tx.putKey(context.idempotency, result as unknown as Parameters<StorageTx['putKey']>[1], context.at)
  return { ...result, replayed: false }
}

/** 'forbidden' unless the author's role, read after the collection was taken, is `needed` or above. */
export function checkRole(collectionId: string, role: MemberRole | undefined, needed: MemberRole): void {
  if (!atLeast(role, needed)) {
    throw new StorageError('forbidden', role === undefined ? `Not a member of collection ${collectionId}` : `A ${role} cannot write to collection ${collectionId}`, {
      access: { collectionId, role, needs: needed }
    })
  }
}

export function assertDistinct(writes: RecordWrite[]): void {
  const seen = new Set<string>()
  for (const write of writes) {
    const k = recordKey(write.collectionId, write.id)
    if (seen.has(k)) throw new StorageError('invalid', `Record ${write.id} is written more than once in one commit`)
    seen.add(k)
  }
}
