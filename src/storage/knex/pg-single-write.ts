import type pg from 'pg'
import { rolesAtLeast } from '../roles.js'
import type { CommitOutcome, RecordWrite, WriteContext } from '../types.js'
import { planCompareAndSet } from './apply-writes.js'
import { literal } from './pg-literals.js'
import { recordToRow, type CollectionRow } from './rows.js'

/** What PostgreSQL answers when the statement below refuses to commit a half-done write. */
const DIVISION_BY_ZERO = '22012'

/**
 * PostgreSQL only: the common single versioned write (an update or delete
 * naming the live record's version, with no idempotency key, lock token or
 * lock on the collection) in one round trip, `BEGIN; <statement>; COMMIT`,
 * where the general algorithm (apply-writes.ts) takes three. The collection's
 * row lock, which serialises its writers so that the feed has no gaps, is
 * then held only while PostgreSQL runs that message, never across a round
 * trip to this process (which, busy with other requests, would keep every
 * writer of the collection waiting).
 *
 * The statement, in order:
 * 1. `bumped`: moves the collection's position, which takes its row lock (the
 *    lock every writer, lock grant and membership change takes first), if
 *    the collection has never been locked and, as far as the statement's
 *    snapshot shows, the record is at the base version and the author may
 *    write. If not, nothing is changed and the general path finds out why.
 * 2. `member`: the author's member row, locked (FOR SHARE) after the
 *    collection's row: a removal or demotion that committed while this write
 *    waited for the collection is seen here (a locked row is re-read at its
 *    latest version), and none can start until this write commits.
 * 3. `changed`: the compare-and-set of the record at the new position (it
 *    too re-reads a row that another writer changed meanwhile).
 * 4. If the position moved but the record did not (a writer or a membership
 *    change got there first while this one waited), the division by zero
 *    aborts the transaction, so that no position is left without its change,
 *    and the general path runs.
 *
 * Values travel as literals (pg's escaping): several statements in one
 * message cannot take parameters.
 */
export async function singleWriteOnPostgres(client: pg.ClientBase, writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined> {
  const [write] = writes
  if (writes.length !== 1 || context.idempotency !== undefined || context.lockTokens?.[write.collectionId] !== undefined) return undefined
  const planned = planCompareAndSet(write, context, 0)
  if (planned === undefined) return undefined
  const sql = (value: string | number | boolean | null) => literal(client, value)
  const collection = sql(write.collectionId)
  const next = recordToRow(planned.record)
  const live = `collection_id = ${collection} AND id = ${sql(write.id)} AND version = ${sql(planned.baseVersion)} AND deleted = FALSE`
  const author =
    context.requireRole === undefined
      ? undefined
      : `FROM members WHERE collection_id = ${collection} AND user_id = ${sql(context.actor)} AND role IN (${rolesAtLeast(context.requireRole).map(sql).join(', ')})`

  const text = `BEGIN;
    WITH bumped AS (
      UPDATE collections SET seq = seq + 1
      WHERE id = ${collection} AND lock_seq = 0 AND EXISTS (SELECT 1 FROM records WHERE ${live})${author === undefined ? '' : ` AND EXISTS (SELECT 1 ${author})`}
      RETURNING seq, epoch
    ), member AS MATERIALIZED (
      ${author === undefined ? 'SELECT 1 FROM bumped' : `SELECT 1 ${author} AND EXISTS (SELECT 1 FROM bumped) FOR SHARE`}
    ), changed AS (
      UPDATE records SET version = ${sql(next.version)}, data = ${sql(next.data)}, deleted = ${sql(Boolean(next.deleted))},
        updated_at = ${sql(next.updated_at)}, updated_by = ${sql(next.updated_by)}, seq = (SELECT seq FROM bumped)
      WHERE ${live} AND EXISTS (SELECT 1 FROM member)
      RETURNING 1
    )
    SELECT seq, epoch, 1 / (CASE WHEN (SELECT count(*) FROM changed) = 1 THEN 1 ELSE 0 END) AS applied FROM bumped;
    COMMIT`
  let results: pg.QueryResult[]
  try {
    results = (await client.query(text)) as unknown as pg.QueryResult[]
  } catch (error) {
    // A failed statement leaves the transaction open and aborted.
    await client.query('ROLLBACK').catch(() => undefined)
    if ((error as { code?: string }).code === DIVISION_BY_ZERO) return undefined
    throw error
  }
  // Nothing matched: nothing was changed (the empty transaction committed).
  const row = results[1].rows[0] as Pick<CollectionRow, 'seq' | 'epoch'> | undefined
  if (row === undefined) return undefined
  const seq = Number(row.seq)
  const record = { ...planned.record, seq }
  return {
    records: [record],
    outcomes: [record.deleted ? 'deleted' : 'updated'],
    positions: { [write.collectionId]: { seq, epoch: row.epoch } },
    replayed: false
  }
}
