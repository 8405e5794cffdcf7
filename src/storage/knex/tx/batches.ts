import type { BatchesTx } from '../../backend.js'
import type { StagedOperation } from '../../types.js'
import { chunks, IDS_PER_QUERY, ROWS_PER_INSERT } from '../chunks.js'
import { jsonText } from '../../json-text.js'
import { batchFromRow, operationFromRow, OPERATION_COLUMNS, type BatchRow, type OperationRow } from '../rows.js'
import * as sql from '../sql/batches.js'
import { execute, select, type SqlValue } from '../statements.js'

const recordKey = (operation: StagedOperation): string => `${operation.collectionId}\u0000${operation.id}`

export const batchesTx: BatchesTx = {
  *takeBatch(id, now) {
    const [row] = yield* select<BatchRow>(sql.TAKE_BATCH, [id])
    return row && batchFromRow(row, now)
  },

  *getBatch(id, now) {
    const [row] = yield* select<BatchRow>(sql.SELECT_BATCH, [id])
    return row && batchFromRow(row, now)
  },

  *insertBatch(batch) {
    yield* execute(sql.INSERT_BATCH, [
      batch.id,
      batch.userId,
      batch.status,
      batch.operationCount,
      batch.bytes,
      batch.declaredOperations,
      batch.declaredBytes,
      batch.result === null ? null : JSON.stringify(batch.result),
      batch.createdAt,
      batch.expiresAt,
      batch.committedAt
    ])
  },

  *updateBatch(id, { status, operationCount, bytes, result, committedAt }) {
    yield* execute(sql.UPDATE_BATCH, [
      status ?? null,
      operationCount ?? null,
      bytes ?? null,
      result === undefined || result === null ? null : JSON.stringify(result),
      committedAt ?? null,
      id
    ])
  },

  *openBatchStats(userId, now) {
    const [row] = yield* select<{ count: number | string; bytes: number | string; first_expiry: string | null }>(sql.OPEN_BATCH_STATS, [userId, now])
    return { count: Number(row.count), bytes: Number(row.bytes), firstExpiry: row.first_expiry }
  },

  *stageOperations(batchId, operations) {
    const [{ last }] = yield* select<{ last: number | string | null }>(sql.LAST_ORDINAL, [batchId])
    let ordinal = Number(last ?? 0)
    // Twice the same record in one call: the later replaces the earlier in
    // its place (a Map keeps a key where it was first set), as a later call would.
    const latest = new Map(operations.map((operation) => [recordKey(operation), operation]))
    const rows: OperationRow[] = [...latest.values()].map((operation) => ({
      batch_id: batchId,
      collection_id: operation.collectionId,
      record_id: operation.id,
      ordinal: ++ordinal,
      op: operation.op,
      data: operation.op === 'put' ? jsonText(operation.data) : null,
      base_version: operation.baseVersion,
      bytes: operation.bytes
    }))
    for (const chunk of chunks(rows, ROWS_PER_INSERT)) {
      const values: SqlValue[] = []
      for (const row of chunk) for (const column of OPERATION_COLUMNS) values.push(row[column])
      yield* execute(sql.stageOperations(chunk.length), values)
    }
  },

  *stagedTotals(batchId) {
    const [row] = yield* select<{ count: number | string; bytes: number | string }>(sql.STAGED_TOTALS, [batchId])
    return { count: Number(row.count), bytes: Number(row.bytes) }
  },

  *listOperations(batchId) {
    return (yield* select<OperationRow>(sql.SELECT_OPERATIONS, [batchId])).map(operationFromRow)
  },

  *deleteOperations(batchIds) {
    for (const chunk of chunks(batchIds, IDS_PER_QUERY)) yield* execute(sql.deleteOperations(chunk.length), chunk)
  },

  *openBatchesTouching(userId, collectionId) {
    return (yield* select<{ id: string }>(sql.SELECT_OPEN_BATCHES_TOUCHING, [userId, collectionId])).map((row) => row.id)
  }
}
