import type { ListOpenBatchesParams, OpenBatchSummary, StorageStats } from '../../types.js'
import { COLLECTION_NAMES, type MongoCollections } from '../mongo-collections.js'

/**
 * The dashboard's reads: a collection's open batches and the operator's
 * counts. As in SQL (../../knex/sql/batches.ts, ../../knex/sql/stats.ts).
 */

/**
 * Open, unexpired batches (the (status, expiresAt) index) that staged an
 * operation on the collection (a lookup on the operations' (batchId,
 * collectionId, …) key prefix), with their user's e-mail.
 */
export async function listOpenBatches(c: MongoCollections, { collectionId, userId, now, limit }: ListOpenBatchesParams): Promise<OpenBatchSummary[]> {
  const docs = await c.batches
    .aggregate<OpenBatchSummary>([
      { $match: { status: 'open', expiresAt: { $gt: now }, ...(userId === undefined ? {} : { userId }) } },
      {
        $lookup: {
          from: COLLECTION_NAMES.operations,
          let: { batchId: '$_id' },
          pipeline: [{ $match: { $expr: { $eq: ['$batchId', '$$batchId'] }, collectionId } }, { $limit: 1 }, { $project: { _id: 1 } }],
          as: 'touching'
        }
      },
      { $match: { 'touching.0': { $exists: true } } },
      { $sort: { createdAt: 1, _id: 1 } },
      { $limit: limit },
      { $lookup: { from: COLLECTION_NAMES.users, localField: 'userId', foreignField: '_id', as: 'user' } },
      {
        $project: {
          _id: 0,
          id: '$_id',
          userId: 1,
          email: { $ifNull: [{ $first: '$user.email' }, ''] },
          operationCount: 1,
          bytes: 1,
          createdAt: 1,
          expiresAt: 1
        }
      }
    ])
    .toArray()
  return docs.map((doc) => ({ id: doc.id, userId: doc.userId, email: doc.email, operationCount: doc.operationCount, bytes: doc.bytes, createdAt: doc.createdAt, expiresAt: doc.expiresAt }))
}

/** Record data is JSON text: `$strLenBytes` is its size in bytes (UTF-8), as `octet_length` in SQL. */
export async function stats(c: MongoCollections, now: string): Promise<StorageStats> {
  const [users, collections, openBatches, locks, [records]] = await Promise.all([
    c.users.countDocuments({}),
    c.collections.countDocuments({}),
    c.batches.countDocuments({ status: 'open', expiresAt: { $gt: now } }),
    c.locks.countDocuments({ expiresAt: { $gt: now } }),
    c.records
      .aggregate<{ live: number; tombstones: number; bytes: number }>([
        {
          $group: {
            _id: null,
            live: { $sum: { $cond: ['$deleted', 0, 1] } },
            tombstones: { $sum: { $cond: ['$deleted', 1, 0] } },
            bytes: { $sum: { $cond: ['$deleted', 0, { $strLenBytes: { $ifNull: ['$data', ''] } }] } }
          }
        }
      ])
      .toArray()
  ])
  return {
    users,
    collections,
    records: records?.live ?? 0,
    tombstones: records?.tombstones ?? 0,
    bytes: records?.bytes ?? 0,
    openBatches,
    locks
  }
}
