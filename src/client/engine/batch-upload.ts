import type { Batch, BatchOperation } from '../../services/batches/batches.shared.js'
import { RoostError, toRoostError } from '../errors.js'
import type { Json, LocalRecord, ServerRecord } from '../types.js'
import type { EngineContext } from './context.js'

/** One record of a batch upload, with the local version it carries. */
export interface PlannedOperation {
  collectionId: string
  id: string
  localVersion: number
  /** What the server stores (its data an envelope in an encrypted collection). */
  operation: BatchOperation
  /** The data in the clear, when `operation` carries it encrypted: what the local copy holds once committed. */
  plain?: unknown
}

/** A batch upload, persisted before its first request: after a crash the same batch is resumed. */
export interface BatchPlan {
  batchId: string
  /** The commit's Idempotency-Key: records it writes carry it (`idempotencyKey`). */
  commitKey: string
  items: PlannedOperation[]
  lockTokens: Record<string, number>
}

export interface BatchConflict {
  collectionId: string
  id: string
  reason: string
  current: ServerRecord | null
}

export type BatchResult =
  | { kind: 'committed'; batch: Batch }
  | { kind: 'conflicts'; conflicts: BatchConflict[] }
  /** The batch is aborted, expired or gone: plan a new one. */
  | { kind: 'restart'; uncertain: boolean }

/** The operation that brings the server from the record's base to `state`; null when there is nothing to send. */
export function batchOperation(record: Pick<LocalRecord, 'collectionId' | 'id' | 'base'>, state: { data: unknown; deleted: boolean }): BatchOperation | null {
  const { collectionId, id, base } = record
  if (state.deleted) return base && !base.deleted ? { op: 'delete', collectionId, id, version: base.version } : null
  if (!base) return { op: 'put', collectionId, id, data: state.data, ifNotExists: true }
  return { op: 'put', collectionId, id, data: state.data, version: base.version }
}

/** A planned operation with its data encoded for the wire (encrypted collections); the plaintext stays beside it. */
export async function encodeOperation(ctx: EngineContext, item: PlannedOperation): Promise<PlannedOperation> {
  const operation = item.operation
  if (operation.op !== 'put') return item
  const data = await ctx.codec.encode(item.collectionId, item.id, (operation.data ?? null) as Json)
  return data === operation.data ? item : { ...item, operation: { ...operation, data }, plain: operation.data }
}

const appendChunks = (ctx: EngineContext, items: PlannedOperation[]): BatchOperation[][] => {
  const chunks: BatchOperation[][] = []
  let chunk: BatchOperation[] = []
  let bytes = 0
  for (const { operation } of items) {
    const size = JSON.stringify(operation).length
    if (chunk.length > 0 && (chunk.length >= ctx.appendOperations || bytes + size > ctx.appendBytes)) {
      chunks.push(chunk)
      chunk = []
      bytes = 0
    }
    chunk.push(operation)
    bytes += size
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}

const statusOf = (error: RoostError) => (error.data as { status?: string } | undefined)?.status

/**
 * Opens (or reopens), fills and commits one batch. Every step is safe to
 * repeat: opening the same id answers the batch as it is, an append
 * replaces what it staged before, and a second commit answers the first
 * one's result. So after any lost answer the whole sequence simply runs
 * again. Other failures are thrown as RoostErrors.
 */
export async function runBatch(ctx: EngineContext, plan: BatchPlan, onProgress?: (done: number) => void): Promise<BatchResult> {
  const call = <T>(method: string | null, body: unknown, headers: Record<string, string> = {}) =>
    ctx.rest.call<T>({ method: 'POST', path: 'batches', body, headers: method ? { 'X-Service-Method': method, ...headers } : headers })
  try {
    const opened = await call<Batch>(null, { id: plan.batchId, expectedOperations: plan.items.length })
    if (opened.status === 'aborted' || opened.status === 'expired') return { kind: 'restart', uncertain: false }
    if (opened.status === 'open') {
      let done = 0
      for (const operations of appendChunks(ctx, plan.items)) {
        await call<Batch>('append', { id: plan.batchId, operations })
        done += operations.length
        onProgress?.(done)
      }
    }
    const commitBody = Object.keys(plan.lockTokens).length > 0 ? { id: plan.batchId, lockTokens: plan.lockTokens } : { id: plan.batchId }
    const batch = await call<Batch>('commit', commitBody, { 'Idempotency-Key': plan.commitKey })
    return { kind: 'committed', batch }
  } catch (caught) {
    const error = toRoostError(caught)
    if (error.code === 409) {
      const conflicts = (error.data as { conflicts?: BatchConflict[] } | undefined)?.conflicts
      if (conflicts) return { kind: 'conflicts', conflicts }
      // A closed batch: committed means a lost commit answer, and committing again replays it.
      if (statusOf(error) === 'committed') {
        const batch = await call<Batch>('commit', { id: plan.batchId }, { 'Idempotency-Key': plan.commitKey }).catch(() => null)
        if (batch?.status === 'committed') return { kind: 'committed', batch }
      }
      return { kind: 'restart', uncertain: false }
    }
    if (error.code === 410) return { kind: 'restart', uncertain: false }
    // Gone (kept 7 days after its expiry): it may have been committed; the records' keys will tell.
    if (error.code === 404 && (error.message ?? '').toLowerCase().includes('batch')) return { kind: 'restart', uncertain: true }
    throw error
  }
}

/** Aborts a batch we no longer want; failing to is harmless (it expires). */
export async function abortBatch(ctx: EngineContext, batchId: string): Promise<void> {
  await ctx.rest.call({ method: 'DELETE', path: `batches/${encodeURIComponent(batchId)}` }).catch(() => undefined)
}

/** The server's record after a committed batch wrote it, from the batch's results. */
export function committedRecord(ctx: EngineContext, batch: Batch, plan: BatchPlan, index: number): ServerRecord | null {
  const item = plan.items[index]
  // Results come in staging order, one per operation: usually at the same index.
  const atIndex = batch.results?.[index]
  const result = atIndex && atIndex.collectionId === item.collectionId && atIndex.id === item.id ? atIndex : batch.results?.find((r) => r.collectionId === item.collectionId && r.id === item.id)
  if (!result) return null
  const deleted = result.outcome === 'deleted'
  return {
    collectionId: item.collectionId,
    id: item.id,
    version: result.version,
    data: deleted ? null : ('plain' in item ? item.plain : (item.operation as { data?: unknown }).data) ?? null,
    deleted,
    updatedAt: batch.committedAt ?? ctx.now(),
    updatedBy: ctx.userId(),
    seq: result.seq,
    idempotencyKey: plan.commitKey
  }
}
