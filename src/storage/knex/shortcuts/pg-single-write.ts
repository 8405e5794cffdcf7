import type pg from 'pg'
import { byId } from '../../../ids.js'
import { planCompareAndSet } from '../../rules/shortcuts.js'
import { rolesAtLeast } from '../../roles.js'
import type { CommitOutcome, RecordWrite, WriteContext } from '../../types.js'
import { recordToRow, type CollectionRow } from '../rows.js'

/** What PostgreSQL answers when the statement below refuses to commit a half-done write (step 4). */
const DIVISION_BY_ZERO = '22012'

/**
 * Shortcut (PostgreSQL): the common single versioned write in one statement.
 *
 * Saves: PostgreSQL's CPU per write went from about 240 to 150 µs, and W1 on
 * PostgreSQL from 1.1× to 1.5–1.7× the plain Feathers service
 * (BENCHMARKS.md, "Where Roost's time goes"). One round trip where the
 * general rule (rules/commit-writes.ts, with shortcuts/pg-pipelined-begin.ts)
 * takes three, and a statement prepared once per connection, so PostgreSQL
 * does not parse and plan it for every write. The collection's row lock,
 * which serialises its writers so that the feed has no gaps, is held only
 * while PostgreSQL runs it and commits, never across a round trip to this
 * process (which, busy with other requests, would keep every writer of the
 * collection waiting).
 *
 * Applies to an update or delete naming the live record's version (or a put
 * naming a version), with no idempotency scope to store an answer under, no
 * lock token, on a collection never locked; the call's key, if any, is still
 * recorded on the version. Anything else, or anything it finds changed,
 * returns undefined and the rules run: it only ever commits what the rules
 * would have committed on the same state, and otherwise nothing at all.
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
 * 4. The guarantee that positions stay dense (the feed has no gaps): no
 *    position is ever reserved without its change. If the position moved
 *    but the record did not (a writer or a membership change got there
 *    first while this one waited), the statement must not commit, and a
 *    statement has no ROLLBACK of its own: the division by zero is how it
 *    fails itself, which rolls back the bump too. Then the general path
 *    runs and finds out why.
 */
/** Whether a commit is the one single write this statement can do (checked before a connection is taken). */
export const isSingleWrite = (writes: RecordWrite[], context: WriteContext): boolean =>
  writes.length === 1 && context.idempotency === undefined && byId(context.lockTokens, writes[0].collectionId) === undefined

export async function singleWriteOnPostgres(client: pg.ClientBase, writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined> {
  const [write] = writes
  if (!isSingleWrite(writes, context)) return undefined
  const planned = planCompareAndSet(write, context, 0)
  if (planned === undefined) return undefined
  const next = recordToRow(planned.record)
  const values = [write.collectionId, write.id, planned.baseVersion, next.version, next.data, Boolean(next.deleted), next.updated_at, next.updated_by, next.idempotency_key]
  const query =
    context.requireRole === undefined
      ? { name: 'roost-single-write', text: SINGLE_WRITE, values }
      : { name: 'roost-single-write-by-member', text: SINGLE_WRITE_BY_MEMBER, values: [...values, context.actor, rolesAtLeast(context.requireRole)] }
  let result: pg.QueryResult<Pick<CollectionRow, 'seq' | 'epoch'>>
  try {
    result = await client.query(query)
  } catch (error) {
    if ((error as { code?: string }).code === DIVISION_BY_ZERO) return undefined
    throw error
  }
  // Nothing matched: nothing was changed.
  const row = result.rows[0]
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

// $1 collection, $2 record id, $3 base version, $4–$9 the record's new
// version, data, deleted, updated_at, updated_by, idempotency_key; $10 the
// author, $11 the roles allowed to write.
const LIVE = 'collection_id = $1 AND id = $2 AND version = $3 AND deleted = FALSE'
const AUTHOR = 'FROM members WHERE collection_id = $1 AND user_id = $10 AND role = ANY($11::text[])'

const singleWrite = (author: string | undefined) => `
  WITH bumped AS (
    UPDATE collections SET seq = seq + 1
    WHERE id = $1 AND lock_seq = 0 AND EXISTS (SELECT 1 FROM records WHERE ${LIVE})${author === undefined ? '' : ` AND EXISTS (SELECT 1 ${author})`}
    RETURNING seq, epoch
  ), member AS MATERIALIZED (
    ${author === undefined ? 'SELECT 1 FROM bumped' : `SELECT 1 ${author} AND EXISTS (SELECT 1 FROM bumped) FOR SHARE`}
  ), changed AS (
    UPDATE records SET version = $4, data = $5, deleted = $6, updated_at = $7, updated_by = $8, idempotency_key = $9, seq = (SELECT seq FROM bumped)
    WHERE ${LIVE} AND EXISTS (SELECT 1 FROM member)
    RETURNING 1
  )
  SELECT seq, epoch, 1 / (CASE WHEN (SELECT count(*) FROM changed) = 1 THEN 1 ELSE 0 END) AS applied FROM bumped`

const SINGLE_WRITE = singleWrite(undefined)
const SINGLE_WRITE_BY_MEMBER = singleWrite(AUTHOR)
