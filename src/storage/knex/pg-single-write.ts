import type pg from 'pg'
import { atLeast } from '../roles.js'
import type { CommitOutcome, MemberRole, RecordWrite, WriteContext } from '../types.js'
import { planCompareAndSet } from './apply-writes.js'
import { literal } from './pg-literals.js'
import { recordToRow, type CollectionRow } from './rows.js'

/**
 * PostgreSQL only: the common single versioned write (an update or delete
 * naming the live record's version, with no idempotency key, lock token or
 * lock on the collection) in two round trips where the general algorithm
 * (apply-writes.ts) takes three:
 *
 * 1. `BEGIN; SELECT … FROM collections … FOR UPDATE; SELECT role …`: the
 *    collection's row lock, which every writer, lock grant and membership
 *    change takes first, so the position read cannot move and the role read
 *    (its own snapshot) sees every membership change that committed before;
 * 2. one statement that updates the record if its version still matches and
 *    only then moves the collection's position, followed by `COMMIT`.
 *
 * If it matches nothing (a conflict, a missing record, a tombstone) the
 * transaction commits having changed nothing, and undefined sends the write
 * down the general path, which finds out why. Anything unusual found in step
 * 1 rolls back and does the same. Values travel as literals (pg's escaping):
 * several statements in one message cannot take parameters.
 */
export async function singleWriteOnPostgres(client: pg.ClientBase, writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined> {
  const [write] = writes
  if (writes.length !== 1 || context.idempotency !== undefined || context.lockTokens?.[write.collectionId] !== undefined) return undefined
  const planned = planCompareAndSet(write, context, 0)
  if (planned === undefined) return undefined
  const sql = (value: string | number | boolean | null) => literal(client, value)
  const collection = sql(write.collectionId)

  const lockAndRole = [`BEGIN`, `SELECT seq, epoch, lock_seq FROM collections WHERE id = ${collection} FOR UPDATE`]
  if (context.requireRole !== undefined) {
    lockAndRole.push(`SELECT role FROM members WHERE collection_id = ${collection} AND user_id = ${sql(context.actor)}`)
  }
  try {
    const first = (await client.query(lockAndRole.join('; '))) as unknown as pg.QueryResult[]
    const row = first[1].rows[0] as Pick<CollectionRow, 'seq' | 'epoch' | 'lock_seq'> | undefined
    const role = first[2]?.rows[0]?.role as MemberRole | undefined
    const allowed = context.requireRole === undefined || atLeast(role, context.requireRole)
    if (row === undefined || Number(row.lock_seq) > 0 || !allowed) {
      await client.query('ROLLBACK')
      return undefined
    }

    const seq = Number(row.seq) + 1
    const { baseVersion } = planned
    const record = { ...planned.record, seq }
    const next = recordToRow(record)
    const [changed] = (await client.query(
      `WITH changed AS (
         UPDATE records SET version = ${sql(next.version)}, data = ${sql(next.data)}, deleted = ${sql(Boolean(next.deleted))},
           updated_at = ${sql(next.updated_at)}, updated_by = ${sql(next.updated_by)}, seq = ${sql(seq)}
         WHERE collection_id = ${collection} AND id = ${sql(write.id)} AND version = ${sql(baseVersion)} AND deleted = FALSE
         RETURNING 1
       )
       UPDATE collections SET seq = ${sql(seq)} WHERE id = ${collection} AND EXISTS (SELECT 1 FROM changed); COMMIT`
    )) as unknown as pg.QueryResult[]
    if (changed.rowCount !== 1) return undefined
    return {
      records: [record],
      outcomes: [record.deleted ? 'deleted' : 'updated'],
      positions: { [write.collectionId]: { seq, epoch: row.epoch } },
      replayed: false
    }
  } catch (error) {
    // A failed statement leaves the transaction open and aborted.
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}
