import { StorageError, type RecordConflict, type StaleCollection } from '../errors.js'
import { byId } from '../../ids.js'
import { keyOf, planWrite } from '../plan-write.js'
import { atLeast } from '../roles.js'
import type { CollectionCondition, CommitOutcome, CommitResult, JsonValue, MemberRole, RecordWrite, StoredRecord, WriteContext, WriteOutcome } from '../types.js'
import { chunks, IDS_PER_QUERY, ROWS_PER_INSERT } from './chunks.js'
import { recordFromRow, recordToRow, RECORD_COLUMNS, type CollectionRow, type RecordRow } from './rows.js'
import { checkWriteLock } from './locks.js'
import { execute, placeholders, rowsOf, select, selectPair, sqlForLength, type SqlValue, type Steps } from './statements.js'

export interface IdempotencyRow {
  user_id: string
  key: string
  fingerprint: string
  response: string
  created_at: string
  expires_at: string
}

const key = (collectionId: string, id: string): string => `${collectionId}\u0000${id}`

/**
 * The heart of every versioned write (single calls, multi-record calls, batch
 * commits), inside a transaction the caller opened: lock the collections,
 * check the idempotency key and the conditions, check every write against the
 * current rows, then apply all of them or throw with every conflict.
 * Written as statement steps (./statements.ts): SQLite runs it without
 * yielding, PostgreSQL and batch commits run it asynchronously.
 */
export function* applyWrites(
  writes: RecordWrite[],
  context: WriteContext,
  conditions: CollectionCondition[] = []
): Steps<CommitOutcome> {
  assertDistinct(writes)
  const byCollection = byCollectionOf(writes)
  const collectionIds = [...new Set([...byCollection.keys(), ...conditions.map((condition) => condition.collectionId)])].sort()

  // 1. Reserve positions: bumping the counter row first locks it (on
  //    PostgreSQL) until commit, so writers of one collection commit in
  //    position order. Sorted ids make multi-collection commits deadlock-free.
  //    With requireRole, the author's role is read with it (see checkRole).
  const positions: CommitResult['positions'] = {}
  const before = new Map<string, number>()
  const everLocked = new Set<string>()
  for (const collectionId of collectionIds) {
    const count = byCollection.get(collectionId)?.length ?? 0
    const bump = rowsOf('UPDATE collections SET seq = seq + ? WHERE id = ? RETURNING seq, epoch, lock_seq', [count, collectionId])
    const written = byCollection.has(collectionId)
    const checked = written && context.requireRole !== undefined
    const [[row], roles] = checked
      ? yield* selectPair<Pick<CollectionRow, 'seq' | 'epoch' | 'lock_seq'>, { role: string }>(
          bump,
          rowsOf('SELECT role FROM members WHERE collection_id = ? AND user_id = ?', [collectionId, context.actor])
        )
      : [(yield* select<Pick<CollectionRow, 'seq' | 'epoch' | 'lock_seq'>>(bump.sql, bump.bindings)), []]
    // To someone not allowed in, a missing collection looks like any other they are not a member of.
    if (checked) checkRole(collectionId, roles[0]?.role as MemberRole | undefined, context.requireRole!)
    if (row === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
    positions[collectionId] = { seq: Number(row.seq), epoch: row.epoch }
    before.set(collectionId, Number(row.seq) - count)
    if (Number(row.lock_seq) > 0) everLocked.add(collectionId)
  }

  // 2. A retry of a request already applied gets the first answer, and
  //    nothing is applied again. Checked under the locks, so a concurrent
  //    duplicate waits for the first and then finds its key.
  if (context.idempotency) {
    const { userId, key: idempotencyKey, fingerprint } = context.idempotency
    const [stored] = yield* select<IdempotencyRow>('SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ?', [
      userId,
      idempotencyKey
    ])
    if (stored !== undefined && stored.expires_at > context.at) {
      if (stored.fingerprint !== fingerprint) {
        throw new StorageError('key-reused', 'This idempotency key was used for a different request')
      }
      // Roll back the position reservation: nothing is written.
      throw new Replay(JSON.parse(stored.response) as CommitResult)
    }
  }

  // 3. Locks: under the collection's row lock, so no grant slips in between.
  //    A collection never locked (and no token sent) costs no statement.
  for (const collectionId of byCollection.keys()) {
    const token = byId(context.lockTokens, collectionId)
    if (everLocked.has(collectionId) || token !== undefined) yield* checkWriteLock(collectionId, context.actor, token, context.at)
  }

  // 4. Conditions: "fail if there are changes you have not seen".
  const stale: StaleCollection[] = conditions
    .filter((condition) => before.get(condition.collectionId)! > condition.seq)
    .map((condition) => ({
      collectionId: condition.collectionId,
      seq: before.get(condition.collectionId)!,
      epoch: positions[condition.collectionId].epoch
    }))

  // 5a. The common single write (an update or delete naming the live
  //     record's version) is one compare-and-set with no read before it. If
  //     it matches nothing, the general path below reads the row and tells why.
  if (writes.length === 1 && stale.length === 0) {
    const done = yield* compareAndSetOne(writes[0], context, before.get(writes[0].collectionId)! + 1)
    if (done !== undefined) return yield* finish({ records: [done], outcomes: [done.deleted ? 'deleted' : 'updated'], positions }, context)
  }

  // 5b. Only new ids (creates naming no version, as uploads are): insert
  //     them without reading first. Any id that already exists, live or as
  //     a tombstone, is a conflict, so if one is there the write fails anyway.
  if (stale.length === 0 && writes.every(isPlainCreate)) {
    const records = yield* insertNew(writes, context, before)
    return yield* finish({ records, outcomes: records.map(() => 'created'), positions }, context)
  }

  // 5. Any other writes: read the current rows, now that no other writer can change them.
  const current = yield* readCurrent(byCollection)

  // 6. Check every write; report all conflicts, apply nothing.
  const nextSeq = new Map([...before].map(([collectionId, seq]) => [collectionId, seq + 1]))
  const conflicts: RecordConflict[] = []
  const records: StoredRecord[] = []
  const outcomes: WriteOutcome[] = []
  for (const write of writes) {
    const existing = current.get(key(write.collectionId, write.id))
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
    const message =
      conflicts.length > 0
        ? `${conflicts.length} of ${writes.length} writes conflict`
        : `${stale.length} collection(s) changed since the cursor given`
    throw new StorageError('conflict', message, { conflicts, stale })
  }

  // 7. Write. Updates are still compare-and-set on the version, so a broken
  //    lock could never turn into a lost update.
  const inserts: RecordRow[] = []
  for (const record of records) {
    const previous = current.get(key(record.collectionId, record.id))
    if (previous === undefined) {
      inserts.push(recordToRow(record))
      continue
    }
    const { collection_id, id, version, data, deleted, updated_at, updated_by, idempotency_key, seq } = recordToRow(record)
    const updated = yield* execute(
      'UPDATE records SET version = ?, data = ?, deleted = ?, updated_at = ?, updated_by = ?, idempotency_key = ?, seq = ? WHERE collection_id = ? AND id = ? AND version = ?',
      [version, data, Boolean(deleted), updated_at, updated_by, idempotency_key, Number(seq), collection_id, id, previous.version]
    )
    if (updated !== 1) {
      throw new StorageError('conflict', 'The record changed during the write', {
        conflicts: [{ collectionId: collection_id, id, reason: 'version-mismatch', current: previous }]
      })
    }
  }
  yield* insertRows(inserts, insertRecordsSql)

  return yield* finish({ records, outcomes, positions }, context)
}

function byCollectionOf(writes: RecordWrite[]): Map<string, RecordWrite[]> {
  const byCollection = new Map<string, RecordWrite[]>()
  for (const write of writes) {
    const group = byCollection.get(write.collectionId)
    if (group === undefined) byCollection.set(write.collectionId, [write])
    else group.push(write)
  }
  return byCollection
}

/** The current rows of the records written, by key(). */
function* readCurrent(byCollection: Map<string, RecordWrite[]>): Steps<Map<string, StoredRecord>> {
  const current = new Map<string, StoredRecord>()
  for (const [collectionId, group] of byCollection) {
    for (const ids of chunks(group.map((write) => write.id), IDS_PER_QUERY)) {
      const rows = yield* select<RecordRow>(selectRecordsSql(ids.length), [collectionId, ...ids])
      for (const row of rows) current.set(key(collectionId, row.id), recordFromRow(row))
    }
  }
  return current
}

/** A write that may only make a new record: version 1 if its id is free, a conflict otherwise. */
const isPlainCreate = (write: RecordWrite): boolean =>
  (write.op === 'create' && write.baseVersion === undefined) || (write.op === 'put' && write.baseVersion === null)

/**
 * Inserts plain creates (isPlainCreate) at the positions after `before`,
 * skipping ids that are taken: the records made if every id was free;
 * otherwise it throws the conflicts of the taken ids (and the transaction
 * rolls back what was inserted).
 */
function* insertNew(writes: RecordWrite[], context: WriteContext, before: Map<string, number>): Steps<StoredRecord[]> {
  const nextSeq = new Map([...before].map(([collectionId, seq]) => [collectionId, seq + 1]))
  const records: StoredRecord[] = writes.map((write) => {
    const seq = nextSeq.get(write.collectionId)!
    nextSeq.set(write.collectionId, seq + 1)
    const data = (write as { data: JsonValue }).data
    return { collectionId: write.collectionId, id: write.id, version: 1, data, deleted: false, updatedAt: context.at, updatedBy: context.actor, ...keyOf(context), seq }
  })
  const inserted = yield* insertRows(records.map(recordToRow), insertNewRecordsSql)
  if (inserted === records.length) return records

  // Some ids were taken. A row there from before (at none of the positions
  // reserved above) is in the way of its create; planWrite says how.
  const current = yield* readCurrent(byCollectionOf(writes))
  const conflicts: RecordConflict[] = []
  for (const write of writes) {
    const existing = current.get(key(write.collectionId, write.id))
    if (existing === undefined || existing.seq > before.get(write.collectionId)!) continue
    const plan = planWrite(existing, write, context)
    if (!plan.ok) conflicts.push(plan.conflict)
  }
  throw new StorageError('conflict', `${conflicts.length} of ${writes.length} writes conflict`, { conflicts, stale: [] })
}

/** Inserts the rows, as many per statement as chunks.ts allows; how many were inserted. */
function* insertRows(rows: RecordRow[], sqlFor: (n: number) => string): Steps<number> {
  let inserted = 0
  for (const chunk of chunks(rows, ROWS_PER_INSERT)) {
    const values: SqlValue[] = []
    for (const row of chunk) for (const column of RECORD_COLUMNS) values.push(row[column] as SqlValue)
    inserted += yield* execute(sqlFor(chunk.length), values)
  }
  return inserted
}

/** Stores the idempotency key with the result, in the write's transaction. */
function* finish(result: CommitResult, context: WriteContext): Steps<CommitOutcome> {
  if (context.idempotency) {
    const { userId, key: idempotencyKey, fingerprint, expiresAt } = context.idempotency
    // An expired key of the same name may still be there until the sweeper runs.
    yield* execute('DELETE FROM idempotency_keys WHERE user_id = ? AND "key" = ?', [userId, idempotencyKey])
    yield* execute(
      'INSERT INTO idempotency_keys (user_id, "key", fingerprint, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [userId, idempotencyKey, fingerprint, JSON.stringify(result), context.at, expiresAt]
    )
  }
  return { ...result, replayed: false }
}

const UPDATE_LIVE_SQL =
  'UPDATE records SET version = ?, data = ?, deleted = ?, updated_at = ?, updated_by = ?, idempotency_key = ?, seq = ? WHERE collection_id = ? AND id = ? AND version = ? AND deleted = ?'
/**
 * Throws 'forbidden' unless the author's role (read right after the position
 * bump, so after any membership change of the collection that committed
 * first: they lock the same row) is `needed` or above.
 */
function checkRole(collectionId: string, role: MemberRole | undefined, needed: MemberRole): void {
  if (!atLeast(role, needed)) {
    throw new StorageError('forbidden', role === undefined ? `Not a member of collection ${collectionId}` : `A ${role} cannot write to collection ${collectionId}`, {
      access: { collectionId, role, needs: needed }
    })
  }
}

/**
 * An update, delete, or put with a base version, applied as one conditional
 * statement on the live record of that version: the record it would be
 * planned into then, or undefined when no such record exists (nothing written).
 */
function* compareAndSetOne(write: RecordWrite, context: WriteContext, seq: number): Steps<StoredRecord | undefined> {
  const planned = planCompareAndSet(write, context, seq)
  if (planned === undefined) return undefined
  const { record, baseVersion } = planned
  const { version, data, deleted, updated_at, updated_by, idempotency_key } = recordToRow(record)
  const changed = yield* execute(UPDATE_LIVE_SQL, [
    version,
    data,
    deleted,
    updated_at,
    updated_by,
    idempotency_key,
    seq,
    write.collectionId,
    write.id,
    baseVersion,
    false
  ])
  return changed === 1 ? record : undefined
}

/**
 * For a write that can be one compare-and-set (an update, delete, or put
 * with a base version): the record it makes if the live record has that
 * version. Undefined for any other write.
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

// The SQL of the variable-length statements, made once per length: the same
// string each time is also a cheap key for the prepared-statement cache.
const selectRecordsSql = sqlForLength((n) => `SELECT * FROM records WHERE collection_id = ? AND id IN ${placeholders(n)}`)
// Skips rows whose id is taken (only those: the conflict target is the
// primary key), so that insertNew can tell which were.
const insertNewRecordsSql = sqlForLength(
  (n) =>
    `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(RECORD_COLUMNS.length)).join(', ')} ON CONFLICT (collection_id, id) DO NOTHING`
)
const insertRecordsSql = sqlForLength(
  (n) => `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(RECORD_COLUMNS.length)).join(', ')}`
)

/** Thrown inside the transaction to roll it back and answer with a stored result. */
export class Replay<Extra = unknown> {
  constructor(
    readonly result: CommitResult,
    readonly extra?: Extra
  ) {}
}

function assertDistinct(writes: RecordWrite[]): void {
  const seen = new Set<string>()
  for (const write of writes) {
    const k = key(write.collectionId, write.id)
    if (seen.has(k)) throw new StorageError('invalid', `Record ${write.id} is written more than once in one commit`)
    seen.add(k)
  }
}
