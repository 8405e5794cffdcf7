import type { Filter } from 'mongodb'
import type { RecordsTx, Tx } from '../../backend.js'
import type { StoredRecord } from '../../types.js'
import { recordFromDocument, recordToDocument, type RecordDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const recordsTx = ({ c, session }: TxContext): RecordsTx => ({
  *getRecords(collectionId, ids): Tx<StoredRecord[]> {
    if (ids.length === 0) return []
    const docs = yield* step(c.records.find({ collectionId, id: { $in: ids } }, { session }).toArray())
    return docs.map(recordFromDocument)
  },

  *insertRecords(records): Tx<void> {
    // An id already there fails with DuplicateKey, which ends the transaction: 'already-exists' (../errors.ts).
    if (records.length > 0) yield* step(c.records.insertMany(records.map(recordToDocument), { session }))
  },

  /**
   * Reads which ids are taken, then inserts the others. Not "insert and
   * ignore duplicates": a duplicate-key error aborts a MongoDB transaction.
   * Exact because the rules took the collection first (./collections.ts): no
   * other writer of it can commit an insert in between without this
   * transaction conflicting and running again.
   */
  *insertRecordsIfAbsent(records): Tx<number> {
    const taken = new Set<string>()
    for (const collectionId of new Set(records.map((record) => record.collectionId))) {
      const ids = records.filter((record) => record.collectionId === collectionId).map((record) => record.id)
      const docs = yield* step(c.records.find({ collectionId, id: { $in: ids } }, { session, projection: { id: 1 } }).toArray())
      for (const doc of docs) taken.add(`${collectionId}\u0000${doc.id}`)
    }
    const free = records.filter((record) => !taken.has(`${record.collectionId}\u0000${record.id}`))
    if (free.length > 0) yield* step(c.records.insertMany(free.map(recordToDocument), { session }))
    return free.length
  },

  /** Compare-and-set: replaces the record only where it still has the previous version (and, with `live`, is not a tombstone). */
  *replaceRecord(record, previous): Tx<boolean> {
    const filter: Filter<RecordDocument> = { collectionId: record.collectionId, id: record.id, version: previous.version }
    if (previous.live === true) filter.deleted = false
    // A replacement keeps the document's _id, and drops idempotencyKey when the new version has none.
    const result = yield* step(c.records.replaceOne(filter, recordToDocument(record), { session }))
    return result.matchedCount === 1
  },

  /** replaceRecord for each, in one bulk write: how many matched their previous version. */
  *replaceRecords(replacements): Tx<number> {
    if (replacements.length === 0) return 0
    const operations = replacements.map(({ record, previous }) => ({
      replaceOne: { filter: { collectionId: record.collectionId, id: record.id, version: previous.version }, replacement: recordToDocument(record) }
    }))
    const result = yield* step(c.records.bulkWrite(operations, { session, ordered: true }))
    return result.matchedCount
  }
})
