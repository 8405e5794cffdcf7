import type { RecordsTx } from '../../backend.js'
import type { StoredRecord } from '../../types.js'
import { chunks, IDS_PER_QUERY, ROWS_PER_INSERT } from '../chunks.js'
import { recordFromRow, recordToRow, RECORD_COLUMNS, type RecordRow } from '../rows.js'
import * as sql from '../sql/records.js'
import { execute, select, type SqlValue, type Steps } from '../statements.js'

export const recordsTx: RecordsTx = {
  *getRecords(collectionId, ids) {
    const records: StoredRecord[] = []
    for (const chunk of chunks(ids, IDS_PER_QUERY)) {
      const rows = yield* select<RecordRow>(sql.selectRecords(chunk.length), [collectionId, ...chunk])
      for (const row of rows) records.push(recordFromRow(row))
    }
    return records
  },

  // An id already there fails the INSERT with a unique violation, which the
  // backend translates to 'already-exists' (driver-errors.ts).
  *insertRecords(records) {
    yield* insertRows(records, sql.insertRecords)
  },

  *insertRecordsIfAbsent(records) {
    return yield* insertRows(records, sql.insertRecordsIfAbsent)
  },

  *replaceRecord(record, previous) {
    const { version, data, deleted, updated_at, updated_by, idempotency_key, seq, collection_id, id } = recordToRow(record)
    const changed = yield* execute(previous.live === true ? sql.REPLACE_LIVE_RECORD : sql.REPLACE_RECORD, [
      version,
      data,
      Boolean(deleted),
      updated_at,
      updated_by,
      idempotency_key,
      Number(seq),
      collection_id,
      id,
      previous.version
    ])
    return changed === 1
  },

  *replaceRecords(replacements) {
    let replaced = 0
    for (const chunk of chunks(replacements, ROWS_PER_INSERT)) {
      const values: SqlValue[] = []
      for (const { record, previous } of chunk) {
        const row = recordToRow(record)
        for (const column of RECORD_COLUMNS) values.push(row[column] as SqlValue)
        values.push(previous.version)
      }
      replaced += yield* execute(sql.replaceRecords(chunk.length), values)
    }
    return replaced
  }
}

/** Inserts the records, as many per statement as chunks.ts allows: how many were inserted. */
function* insertRows(records: StoredRecord[], sqlFor: (n: number) => string): Steps<number> {
  let inserted = 0
  for (const chunk of chunks(records, ROWS_PER_INSERT)) {
    const values: SqlValue[] = []
    for (const record of chunk) {
      const row = recordToRow(record)
      for (const column of RECORD_COLUMNS) values.push(row[column] as SqlValue)
    }
    inserted += yield* execute(sqlFor(chunk.length), values)
  }
  return inserted
}
