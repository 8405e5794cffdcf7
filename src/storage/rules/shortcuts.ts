import type { StorageTx, Tx } from '../backend.js'
import { StorageError, type RecordConflict } from '../errors.js'
import type { CommitResult, JsonValue, RecordWrite, StoredRecord, WriteContext } from '../types.js'
import { groupByCollection, readCurrent, recordKey } from './records.js'
import { keyOf, planWrite } from './plan-write.js'

/**
 * Speed-ups of commit-writes.ts, on every backend, used only when storage is
 * made with shortcuts on (the default; config `storageShortcuts`). Each gives
 * exactly the outcome of the reference path, with fewer statements: the
 * conformance suite runs with and without them on every database.
 * Both run after the collections were taken, the key checked, the leases
 * checked and the conditions found fresh.
 */

/**
 * The common single write (an update, delete, or put naming the live
 * record's version) as one compare-and-set, with no read before it. If it
 * matches nothing, undefined: the reference path reads the record and says
 * why. Saves the read: SQLite's write transaction went from 61 to 45 µs
 * (BENCHMARKS.md, analysis).
 */
export function* updateWithoutReading(
  tx: StorageTx,
  writes: RecordWrite[],
  context: WriteContext,
  before: Map<string, number>
): Tx<Omit<CommitResult, 'positions'> | undefined> {
  if (writes.length !== 1) return undefined
  const [write] = writes
  const planned = planCompareAndSet(write, context, before.get(write.collectionId)! + 1)
  if (planned === undefined) return undefined
  const done = yield* tx.replaceRecord(planned.record, { version: planned.baseVersion, live: true })
  return done ? { records: [planned.record], outcomes: [planned.record.deleted ? 'deleted' : 'updated'] } : undefined
}

/**
 * For a write that can be one compare-and-set on the live record (an update,
 * delete, or put with a base version): the record it makes if the live record
 * has that version. Undefined for any other write.
 */
export function planCompareAndSet(write: RecordWrite, context: WriteContext, seq: number): { record: StoredRecord; baseVersion: number } | undefined {
  const baseVersion = write.baseVersion
  const eligible = write.op === 'update' || write.op === 'delete' || (write.op === 'put' && typeof baseVersion === 'number')
  if (!eligible || typeof baseVersion !== 'number') return undefined
  const deleted = write.op === 'delete'
  const record: StoredRecord = {
    collectionId: write.collectionId,
    id: write.id,
    version: baseVersion + 1,
    data: deleted ? null : (write as { data: JsonValue }).data,
    deleted,
    updatedAt: context.at,
    updatedBy: context.actor,
    ...keyOf(context),
    seq
  }
  return { record, baseVersion }
}

/** A write that may only make a new record: version 1 if its id is free, a conflict otherwise. */
const isPlainCreate = (write: RecordWrite): boolean =>
  (write.op === 'create' && write.baseVersion === undefined) || (write.op === 'put' && write.baseVersion === null)

/**
 * An upload of only new ids (creates naming no version, batch puts that must
 * not exist yet) inserted at once, skipping ids that are taken; only if one
 * was taken are the records read, to report every conflict (the transaction
 * then rolls back what was inserted). Saves reading every id before a bulk
 * insert (BENCHMARKS.md, analysis: W2).
 */
export function* insertWithoutReading(
  tx: StorageTx,
  writes: RecordWrite[],
  context: WriteContext,
  before: Map<string, number>
): Tx<Omit<CommitResult, 'positions'> | undefined> {
  if (!writes.every(isPlainCreate)) return undefined
  const nextSeq = new Map([...before].map(([collectionId, seq]) => [collectionId, seq + 1]))
  const records: StoredRecord[] = writes.map((write) => {
    const seq = nextSeq.get(write.collectionId)!
    nextSeq.set(write.collectionId, seq + 1)
    const data = (write as { data: JsonValue }).data
    return { collectionId: write.collectionId, id: write.id, version: 1, data, deleted: false, updatedAt: context.at, updatedBy: context.actor, ...keyOf(context), seq }
  })
  const inserted = yield* tx.insertRecordsIfAbsent(records)
  if (inserted === records.length) return { records, outcomes: records.map(() => 'created') }

  // Some ids were taken. A record there from before (at none of the
  // positions reserved) is in the way of its create; planWrite says how.
  const current = yield* readCurrent(tx, groupByCollection(writes))
  const conflicts: RecordConflict[] = []
  for (const write of writes) {
    const existing = current.get(recordKey(write.collectionId, write.id))
    if (existing === undefined || existing.seq > before.get(write.collectionId)!) continue
    const plan = planWrite(existing, write, context)
    if (!plan.ok) conflicts.push(plan.conflict)
  }
  throw new StorageError('conflict', `${conflicts.length} of ${writes.length} writes conflict`, { conflicts, stale: [] })
}
