import type { AnyBulkWriteOperation } from 'mongodb'
import type { BatchesTx, Tx } from '../../backend.js'
import type { StagedOperation, StoredBatch } from '../../types.js'
import { batchFromDocument, batchToDocument, operationContent, operationFromDocument, type BatchDocument, type OperationDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const batchesTx = ({ c, session }: TxContext): BatchesTx => ({
  /** As takeCollection (./collections.ts): a write to the batch's document, so two transactions taking one batch conflict. */
  *takeBatch(id, now): Tx<StoredBatch | undefined> {
    const doc = yield* step(c.batches.findOneAndUpdate({ _id: id }, { $inc: { takes: 1 } }, { session, returnDocument: 'after' }))
    return doc === null ? undefined : batchFromDocument(doc, now)
  },

  *getBatch(id, now): Tx<StoredBatch | undefined> {
    const doc = yield* step(c.batches.findOne({ _id: id }, { session }))
    return doc === null ? undefined : batchFromDocument(doc, now)
  },

  *insertBatch(batch): Tx<void> {
    yield* step(c.batches.insertOne(batchToDocument(batch), { session }))
  },

  *updateBatch(id, change): Tx<void> {
    const set: Partial<BatchDocument> = {}
    if (change.status !== undefined) set.status = change.status
    if (change.operationCount !== undefined) set.operationCount = change.operationCount
    if (change.bytes !== undefined) set.bytes = change.bytes
    if (change.result !== undefined) set.result = change.result === null ? null : JSON.stringify(change.result)
    if (change.committedAt !== undefined) set.committedAt = change.committedAt
    if (Object.keys(set).length > 0) yield* step(c.batches.updateOne({ _id: id }, { $set: set }, { session }))
  },

  *openBatchStats(userId, now): Tx<{ count: number; bytes: number; firstExpiry: string | null }> {
    const [stats] = yield* step(
      c.batches
        .aggregate<{ count: number; bytes: number; firstExpiry: string }>(
          [
            { $match: { userId, status: 'open', expiresAt: { $gt: now } } },
            { $group: { _id: null, count: { $sum: 1 }, bytes: { $sum: '$bytes' }, firstExpiry: { $min: '$expiresAt' } } }
          ],
          { session }
        )
        .toArray()
    )
    return stats === undefined ? { count: 0, bytes: 0, firstExpiry: null } : { count: stats.count, bytes: stats.bytes, firstExpiry: stats.firstExpiry }
  },

  /**
   * One upsert per operation, in order, in one round trip: a record not yet
   * staged gets the next ordinal; one already staged gets the new content
   * and keeps its ordinal ($setOnInsert applies only when inserting).
   */
  *stageOperations(batchId, operations): Tx<void> {
    if (operations.length === 0) return
    const last = yield* step(c.operations.findOne({ batchId }, { session, sort: { ordinal: -1 }, projection: { ordinal: 1 } }))
    let ordinal = last?.ordinal ?? 0
    const upserts: Array<AnyBulkWriteOperation<OperationDocument>> = operations.map((operation) => ({
      updateOne: {
        filter: { batchId, collectionId: operation.collectionId, recordId: operation.id },
        update: { $set: operationContent(operation), $setOnInsert: { ordinal: ++ordinal } },
        upsert: true
      }
    }))
    yield* step(c.operations.bulkWrite(upserts, { session, ordered: true }))
  },

  *stagedTotals(batchId): Tx<{ count: number; bytes: number }> {
    const [totals] = yield* step(
      c.operations
        .aggregate<{ count: number; bytes: number }>(
          [{ $match: { batchId } }, { $group: { _id: null, count: { $sum: 1 }, bytes: { $sum: '$bytes' } } }],
          { session }
        )
        .toArray()
    )
    return totals === undefined ? { count: 0, bytes: 0 } : { count: totals.count, bytes: totals.bytes }
  },

  *listOperations(batchId): Tx<StagedOperation[]> {
    const docs = yield* step(c.operations.find({ batchId }, { session, sort: { ordinal: 1 } }).toArray())
    return docs.map(operationFromDocument)
  },

  *deleteOperations(batchIds): Tx<void> {
    if (batchIds.length > 0) yield* step(c.operations.deleteMany({ batchId: { $in: batchIds } }, { session }))
  },

  /**
   * Open by status (expired or not), as SQL. The user's open batches first
   * (few: a quota bounds them), then which of them staged something on the
   * collection, one id each.
   */
  *openBatchesTouching(userId, collectionId): Tx<string[]> {
    const open = yield* step(c.batches.find({ userId, status: 'open' }, { session, projection: { _id: 1 } }).toArray())
    if (open.length === 0) return []
    const touching = yield* step(
      c.operations
        .aggregate<{ _id: string }>(
          [{ $match: { batchId: { $in: open.map((batch) => batch._id) }, collectionId } }, { $group: { _id: '$batchId' } }, { $sort: { _id: 1 } }],
          { session }
        )
        .toArray()
    )
    return touching.map((batch) => batch._id)
  }
})
