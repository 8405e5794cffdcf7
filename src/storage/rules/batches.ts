import type { StorageTx, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import { jsonBytes } from '../json-text.js'
import type { BatchLimits, CommitBatchParams, CommitOutcome, CommitResult, NewBatch, StagedOperation, StageParams, StoredBatch } from '../types.js'
import { commitWrites } from './commit-writes.js'
import { Replay } from './replay.js'

/**
 * Batches (BatchesPort): operations staged across requests, applied by
 * commitWrites in one transaction at commit. The per-user quotas (open
 * batches, staged bytes) are counted with the user taken, so concurrent opens
 * and appends of one user are ordered and cannot together pass them.
 */

export function* openBatch(tx: StorageTx, batch: NewBatch, limits: BatchLimits, now: string): Tx<{ batch: StoredBatch; created: boolean }> {
  // First, so that a concurrent open of the same id by this user finds the other's batch.
  yield* tx.takeUser(batch.userId)
  const existing = yield* tx.getBatch(batch.id, now)
  if (existing !== undefined) {
    if (existing.userId !== batch.userId) throw new StorageError('already-exists', `Batch id ${batch.id} is taken`)
    return { batch: existing, created: false }
  }
  const open = yield* tx.openBatchStats(batch.userId, now)
  if (open.count >= limits.maxOpenPerUser) {
    throw new StorageError('quota-exceeded', `You have ${open.count} open batches; the limit is ${limits.maxOpenPerUser} (batches.maxOpenPerUser)`, {
      retryAfterSeconds: secondsUntil(open.firstExpiry, now)
    })
  }
  const stored: StoredBatch = {
    id: batch.id,
    userId: batch.userId,
    status: 'open',
    operationCount: 0,
    bytes: 0,
    declaredOperations: batch.declaredOperations,
    declaredBytes: batch.declaredBytes,
    createdAt: now,
    expiresAt: batch.expiresAt,
    committedAt: null,
    result: null
  }
  yield* tx.insertBatch(stored)
  return { batch: stored, created: true }
}

/** Any limit passed throws, and the transaction takes the whole request back. */
export function* stageOperations(tx: StorageTx, batchId: string, params: StageParams): Tx<StoredBatch> {
  const { userId, operations, limits, now } = params
  const batch = yield* takeOwnBatch(tx, batchId, userId, now)
  assertOpen(batch)
  yield* tx.takeUser(userId)

  // Within one request, the last operation on a record wins, as across requests.
  const latest = new Map(operations.map((operation) => [`${operation.collectionId}\u0000${operation.id}`, operation]))
  yield* tx.stageOperations(batchId, [...latest.values()].map((operation) => ({ ...operation, bytes: operation.op === 'put' ? jsonBytes(operation.data) : 0 })))

  const total = yield* tx.stagedTotals(batchId)
  if (total.count > limits.maxOperations) {
    throw new StorageError('too-large', `The batch would hold ${total.count} operations; the limit is ${limits.maxOperations} (batches.maxOperations)`)
  }
  if (total.bytes > limits.maxBytes) {
    throw new StorageError('too-large', `The batch would hold ${total.bytes} bytes; the limit is ${limits.maxBytes} (batches.maxBytes)`)
  }
  yield* tx.updateBatch(batchId, { operationCount: total.count, bytes: total.bytes })
  const open = yield* tx.openBatchStats(userId, now)
  if (open.bytes > limits.maxStagedBytesPerUser) {
    throw new StorageError(
      'quota-exceeded',
      `Your open batches would hold ${open.bytes} bytes; the limit is ${limits.maxStagedBytesPerUser} (batches.maxStagedBytesPerUser)`,
      { retryAfterSeconds: secondsUntil(open.firstExpiry, now) }
    )
  }
  return { ...batch, operationCount: total.count, bytes: total.bytes }
}

/** Committing a committed batch gives its result again (a Replay); aborted or expired: 'closed'. */
export function* commitBatch(tx: StorageTx, batchId: string, params: CommitBatchParams, shortcuts: boolean): Tx<CommitOutcome & { batch: StoredBatch }> {
  const { userId, conditions, context } = params
  const batch = yield* takeOwnBatch(tx, batchId, userId, context.at)
  // The client may not have had the first answer: give it again.
  if (batch.status === 'committed' && batch.result !== null) throw new Replay(batch.result, batch)
  assertOpen(batch)

  const operations: StagedOperation[] = yield* tx.listOperations(batchId)
  const outcome = yield* commitWrites(tx, operations, context, conditions, shortcuts)
  const result: CommitResult = { records: outcome.records, outcomes: outcome.outcomes, positions: outcome.positions }
  yield* tx.updateBatch(batchId, { status: 'committed', result, committedAt: context.at })
  yield* tx.deleteOperations([batchId])
  return { ...outcome, batch: { ...batch, status: 'committed', result, committedAt: context.at } }
}

/** Aborting again is a no-op; committed: 'closed'. */
export function* abortBatch(tx: StorageTx, batchId: string, userId: string, now: string): Tx<StoredBatch> {
  const batch = yield* takeOwnBatch(tx, batchId, userId, now)
  if (batch.status === 'aborted' || batch.status === 'expired') return batch
  if (batch.status === 'committed') throw new StorageError('closed', `Batch ${batchId} is committed`, { status: batch.status })
  yield* tx.updateBatch(batchId, { status: 'aborted' })
  yield* tx.deleteOperations([batchId])
  return { ...batch, status: 'aborted' }
}

/** Another user's batch is as good as missing to this one. */
function* takeOwnBatch(tx: StorageTx, batchId: string, userId: string, now: string): Tx<StoredBatch> {
  const batch = yield* tx.takeBatch(batchId, now)
  if (batch === undefined || batch.userId !== userId) throw new StorageError('not-found', `Batch ${batchId} does not exist`)
  return batch
}

function assertOpen(batch: StoredBatch): void {
  if (batch.status !== 'open') throw new StorageError('closed', `Batch ${batch.id} is ${batch.status}`, { status: batch.status })
}

/** Until the user's first open batch expires (and its quota share frees up by itself), in seconds; at least 1. */
const secondsUntil = (time: string | null, now: string): number => Math.max(1, Math.ceil((Date.parse(time ?? now) - Date.parse(now)) / 1000))
