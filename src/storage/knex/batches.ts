import type { Knex } from 'knex'
import { StorageError } from '../errors.js'
import type {
  BatchLimits,
  CommitBatchParams,
  CommitOutcome,
  CommitResult,
  JsonValue,
  NewBatch,
  StagedOperation,
  StageParams,
  StoredBatch
} from '../types.js'
import { runInKnexTransaction } from './sessions.js'
import { applyWrites, Replay } from './apply-writes.js'
import { chunks } from './chunks.js'
import { jsonBytes, jsonText } from '../json-text.js'

/** Batches: staged in their own tables, applied by applyWrites in one transaction at commit. */

export interface BatchRow {
  id: string
  user_id: string
  status: string
  operation_count: number | string
  bytes: number | string
  declared_operations: number | null
  declared_bytes: number | string | null
  result: string | null
  created_at: string
  expires_at: string
  committed_at: string | null
}

interface OperationRow {
  batch_id: string
  collection_id: string
  record_id: string
  ordinal: number
  op: string
  data: string | null
  base_version: number | null
  bytes: number
}

export function batchFromRow(row: BatchRow, now: string): StoredBatch {
  const status = row.status === 'open' && row.expires_at <= now ? 'expired' : (row.status as StoredBatch['status'])
  return {
    id: row.id,
    userId: row.user_id,
    status,
    operationCount: Number(row.operation_count),
    bytes: Number(row.bytes),
    declaredOperations: row.declared_operations === null ? null : Number(row.declared_operations),
    declaredBytes: row.declared_bytes === null ? null : Number(row.declared_bytes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    committedAt: row.committed_at,
    result: row.result === null ? null : (JSON.parse(row.result) as CommitResult)
  }
}

/** Locks the batch row for the rest of the transaction (an UPDATE works on both backends). */
async function lockBatch(trx: Knex.Transaction, batchId: string, userId: string): Promise<BatchRow> {
  const [row] = await trx<BatchRow>('batches').where({ id: batchId }).update({ id: batchId }).returning('*')
  // Another user's batch is as good as missing to this one.
  if (row === undefined || row.user_id !== userId) throw new StorageError('not-found', `Batch ${batchId} does not exist`)
  return row
}

/**
 * Serialises the per-user quota checks (open batches, staged bytes) of one
 * user: without it, concurrent opens or appends on PostgreSQL each count the
 * others' uncommitted work as absent and together exceed the limits. Taken
 * after the batch lock wherever both are held. Writes no key column, so it
 * does not block foreign-key checks on the user.
 */
async function lockUserQuota(trx: Knex.Transaction, userId: string): Promise<void> {
  await trx('users').where({ id: userId }).update({ created_at: trx.ref('created_at') })
}

function assertOpen(batch: StoredBatch): void {
  if (batch.status !== 'open') {
    throw new StorageError('closed', `Batch ${batch.id} is ${batch.status}`, { status: batch.status })
  }
}

async function stagedBytesOfUser(trx: Knex.Transaction, userId: string, now: string): Promise<number> {
  const [{ total }] = await trx<BatchRow>('batches')
    .where({ user_id: userId, status: 'open' })
    .andWhere('expires_at', '>', now)
    .sum({ total: 'bytes' })
  return Number(total ?? 0)
}

/** Until the user's first open batch expires (and its quota share frees up by itself), in seconds. */
async function untilFirstExpiry(trx: Knex.Transaction, userId: string, now: string): Promise<number> {
  const [{ first }] = await trx<BatchRow>('batches')
    .where({ user_id: userId, status: 'open' })
    .andWhere('expires_at', '>', now)
    .min({ first: 'expires_at' })
  return Math.max(1, Math.ceil((Date.parse(String(first ?? now)) - Date.parse(now)) / 1000))
}

export async function openBatch(
  trx: Knex.Transaction,
  batch: NewBatch,
  limits: BatchLimits,
  now: string
): Promise<{ batch: StoredBatch; created: boolean }> {
  // First, so that a concurrent open of the same id by this user finds the other's batch.
  await lockUserQuota(trx, batch.userId)
  const existing = await trx<BatchRow>('batches').where({ id: batch.id }).first()
  if (existing !== undefined) {
    if (existing.user_id !== batch.userId) throw new StorageError('already-exists', `Batch id ${batch.id} is taken`)
    return { batch: batchFromRow(existing, now), created: false }
  }
  const [{ open }] = await trx<BatchRow>('batches')
    .where({ user_id: batch.userId, status: 'open' })
    .andWhere('expires_at', '>', now)
    .count({ open: '*' })
  if (Number(open) >= limits.maxOpenPerUser) {
    throw new StorageError('quota-exceeded', `You have ${Number(open)} open batches; the limit is ${limits.maxOpenPerUser} (batches.maxOpenPerUser)`, {
      retryAfterSeconds: await untilFirstExpiry(trx, batch.userId, now)
    })
  }
  const row: BatchRow = {
    id: batch.id,
    user_id: batch.userId,
    status: 'open',
    operation_count: 0,
    bytes: 0,
    declared_operations: batch.declaredOperations,
    declared_bytes: batch.declaredBytes,
    result: null,
    created_at: now,
    expires_at: batch.expiresAt,
    committed_at: null
  }
  await trx<BatchRow>('batches').insert(row)
  return { batch: batchFromRow(row, now), created: true }
}

const operationBytes = (operation: StagedOperation): number =>
  operation.op === 'put' ? jsonBytes(operation.data) : 0

export async function stageOperations(trx: Knex.Transaction, batchId: string, params: StageParams): Promise<StoredBatch> {
  const { userId, operations, limits, now } = params
  const batch = batchFromRow(await lockBatch(trx, batchId, userId), now)
  assertOpen(batch)
  await lockUserQuota(trx, userId)

  const [{ last }] = await trx<OperationRow>('batch_operations').where({ batch_id: batchId }).max({ last: 'ordinal' })
  let ordinal = Number(last ?? 0)
  // Within one request, the last operation on a record wins, as across requests.
  const latest = new Map(operations.map((operation) => [`${operation.collectionId}\u0000${operation.id}`, operation]))
  const rows: OperationRow[] = [...latest.values()].map((operation) => ({
    batch_id: batchId,
    collection_id: operation.collectionId,
    record_id: operation.id,
    ordinal: ++ordinal,
    op: operation.op,
    data: operation.op === 'put' ? jsonText(operation.data) : null,
    base_version: operation.baseVersion,
    bytes: operationBytes(operation)
  }))
  for (const chunk of chunks(rows, 100)) {
    // A re-sent operation replaces the staged one but keeps its place in the order.
    await trx('batch_operations')
      .insert(chunk)
      .onConflict(['batch_id', 'collection_id', 'record_id'])
      .merge(['op', 'data', 'base_version', 'bytes'])
  }

  const [{ count }] = await trx('batch_operations').where({ batch_id: batchId }).count({ count: '*' })
  const [{ bytes }] = await trx('batch_operations').where({ batch_id: batchId }).sum({ bytes: 'bytes' })
  const total = { count: Number(count), bytes: Number(bytes ?? 0) }
  // Any limit hit throws, and the transaction takes the whole request back.
  if (total.count > limits.maxOperations) {
    throw new StorageError('too-large', `The batch would hold ${total.count} operations; the limit is ${limits.maxOperations} (batches.maxOperations)`)
  }
  if (total.bytes > limits.maxBytes) {
    throw new StorageError('too-large', `The batch would hold ${total.bytes} bytes; the limit is ${limits.maxBytes} (batches.maxBytes)`)
  }
  const [row] = await trx<BatchRow>('batches')
    .where({ id: batchId })
    .update({ operation_count: total.count, bytes: total.bytes })
    .returning('*')
  const staged = await stagedBytesOfUser(trx, userId, now)
  if (staged > limits.maxStagedBytesPerUser) {
    throw new StorageError(
      'quota-exceeded',
      `Your open batches would hold ${staged} bytes; the limit is ${limits.maxStagedBytesPerUser} (batches.maxStagedBytesPerUser)`,
      { retryAfterSeconds: await untilFirstExpiry(trx, userId, now) }
    )
  }
  return batchFromRow(row, now)
}

export async function listOperations(db: Knex, batchId: string): Promise<StagedOperation[]> {
  const rows = await db<OperationRow>('batch_operations').where({ batch_id: batchId }).orderBy('ordinal')
  return rows.map(operationFromRow)
}

const operationFromRow = (row: OperationRow): StagedOperation =>
  row.op === 'delete'
    ? { op: 'delete', collectionId: row.collection_id, id: row.record_id, baseVersion: Number(row.base_version) }
    : {
        op: 'put',
        collectionId: row.collection_id,
        id: row.record_id,
        data: JSON.parse(row.data ?? 'null') as JsonValue,
        baseVersion: row.base_version === null ? null : Number(row.base_version)
      }

export async function commitBatch(
  trx: Knex.Transaction,
  batchId: string,
  params: CommitBatchParams
): Promise<CommitOutcome & { batch: StoredBatch }> {
  const { userId, conditions, context } = params
  const batch = batchFromRow(await lockBatch(trx, batchId, userId), context.at)
  if (batch.status === 'committed' && batch.result !== null) {
    // The client may not have had the first answer: give it again.
    throw new Replay(batch.result, batch)
  }
  assertOpen(batch)

  const operations = await listOperations(trx, batchId)
  const outcome = await runInKnexTransaction(trx, applyWrites(operations, context, conditions))
  const result: CommitResult = { records: outcome.records, outcomes: outcome.outcomes, positions: outcome.positions }
  const [row] = await trx<BatchRow>('batches')
    .where({ id: batchId })
    .update({ status: 'committed', result: JSON.stringify(result), committed_at: context.at })
    .returning('*')
  await trx('batch_operations').where({ batch_id: batchId }).del()
  return { ...outcome, batch: batchFromRow(row, context.at) }
}

export async function abortBatch(trx: Knex.Transaction, batchId: string, userId: string, now: string): Promise<StoredBatch> {
  const batch = batchFromRow(await lockBatch(trx, batchId, userId), now)
  if (batch.status === 'aborted' || batch.status === 'expired') return batch
  if (batch.status === 'committed') throw new StorageError('closed', `Batch ${batchId} is committed`, { status: batch.status })
  const [row] = await trx<BatchRow>('batches').where({ id: batchId }).update({ status: 'aborted' }).returning('*')
  await trx('batch_operations').where({ batch_id: batchId }).del()
  return batchFromRow(row, now)
}
