import { placeholders, sqlForLength } from '../statements.js'
import { RECORD_COLUMNS } from '../rows.js'

/** Versioned records and tombstones (`records`). */

export const SELECT_RECORD = 'SELECT * FROM records WHERE collection_id = ? AND id = ?'

/** The rows of n ids of one collection. */
export const selectRecords = sqlForLength((n) => `SELECT * FROM records WHERE collection_id = ? AND id IN ${placeholders(n)}`)

/** n records, every column (RECORD_COLUMNS order): an id already there fails the statement. */
export const insertRecords = sqlForLength(
  (n) => `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(RECORD_COLUMNS.length)).join(', ')}`
)

/** As insertRecords, skipping the rows whose id is taken (only those: the conflict target is the primary key). */
export const insertRecordsIfAbsent = sqlForLength(
  (n) =>
    `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(RECORD_COLUMNS.length)).join(', ')} ON CONFLICT (collection_id, id) DO NOTHING`
)

/** Compare-and-set on the version. */
export const REPLACE_RECORD =
  'UPDATE records SET version = ?, data = ?, deleted = ?, updated_at = ?, updated_by = ?, idempotency_key = ?, seq = ? WHERE collection_id = ? AND id = ? AND version = ?'

/**
 * Compare-and-set of n records of one collection in one statement, each on
 * its own previous version (group commit). A row of values per record:
 * RECORD_COLUMNS, then the version it replaces. The casts type the values
 * for PostgreSQL; both databases name the columns of VALUES column1, column2, ….
 */
export const replaceRecords = sqlForLength((n) => {
  const types = ['TEXT', 'TEXT', 'INTEGER', 'TEXT', 'BOOLEAN', 'TEXT', 'TEXT', 'TEXT', 'BIGINT', 'INTEGER']
  const row = `(${types.map((type) => `CAST(? AS ${type})`).join(', ')})`
  const set = RECORD_COLUMNS.slice(2).map((column, i) => `${column} = v.column${i + 3}`)
  return (
    `UPDATE records SET ${set.join(', ')} FROM (VALUES ${new Array<string>(n).fill(row).join(', ')}) AS v ` +
    'WHERE records.collection_id = v.column1 AND records.id = v.column2 AND records.version = v.column10'
  )
})

/** Compare-and-set on the version of a live record (not a tombstone). */
export const REPLACE_LIVE_RECORD = `${REPLACE_RECORD} AND deleted = FALSE`

/**
 * The feed: changes after a position, oldest first (LIMIT one more than asked,
 * to tell if more follow), read as tuples (rows.ts ChangeTuple: these
 * columns, in this order; the collection is the one asked for).
 *
 * The only good plan reads the (collection_id, seq) index from `since` and
 * stops after the page. PostgreSQL must pick it without statistics too: right
 * after a bulk import, before autovacuum has analyzed the table, it guesses
 * that a few dozen rows match, fewer than the LIMIT, so stopping early looks
 * worthless and a bitmap scan of every later change of the collection plus a
 * sort looks cheaper; it ran for every page (a 100,000-record catch-up read 5
 * million rows). With the page size in a subquery the planner cannot see it
 * and plans for reading a tenth of the matching rows. A plan that sorts must
 * read all of them before its first row, the index scan only that tenth: the
 * index scan wins whatever the statistics say, as long as a random page read
 * is costed at under ten sequential ones (the default is four), and so does
 * not depend on when autovacuum runs (test/storage/knex/feed-plan.test.ts).
 * SQLite plans both forms alike.
 */
export const SELECT_CHANGES =
  'SELECT id, version, data, deleted, updated_at, updated_by, idempotency_key, seq FROM records WHERE collection_id = ? AND seq > ? ORDER BY seq ASC LIMIT (SELECT CAST(? AS INTEGER))'
