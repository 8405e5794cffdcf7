import type pg from 'pg'
import type { SqlValue, Statement, StatementResult } from '../statements.js'

/**
 * Shortcut (PostgreSQL): BEGIN sent with the transaction's first statement
 * (and the SELECT paired with it, statements.ts `then`) in one round trip.
 *
 * Saves: one or two round trips of every transaction. With it a write took 3
 * round trips where it took 5 (BENCHMARKS.md, "Where Roost's time goes"): a
 * transaction's first statement takes the collection, and with the role read
 * after it, BEGIN, the two statements travel in one message.
 *
 * How: a multi-statement simple query, which takes no parameters, so the
 * values are written into the text as literals with pg's own escaping. Each
 * statement of it still runs on its own, with its own snapshot (READ
 * COMMITTED), exactly as if sent one by one: the role read still sees a
 * membership change that committed while the first statement waited for
 * the collection's row lock.
 */
export async function beginWith(client: pg.ClientBase, first: Statement, then: Statement | undefined): Promise<StatementResult> {
  const inline = ({ sql, bindings }: Statement) => {
    let n = 0
    return sql.replace(/\?/g, () => literal(client, bindings[n++]))
  }
  const text = ['BEGIN', inline(first), ...(then === undefined ? [] : [inline(then)])].join('; ')
  const results = (await client.query(text)) as unknown as pg.QueryResult[]
  const resultOf = (statement: Statement, result: pg.QueryResult): StatementResult =>
    statement.expect === 'count' ? (result.rowCount ?? 0) : statement.expect === 'tuples' ? result.rows.map((row: Record<string, unknown>) => Object.values(row)) : result.rows
  return then === undefined ? resultOf(first, results[1]) : [resultOf(first, results[1]), resultOf(then, results[2])]
}

/** A value as a PostgreSQL literal, with pg's own escaping. */
function literal(client: pg.ClientBase, value: SqlValue | undefined): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Cannot write ${value} into SQL`)
    return String(value)
  }
  if (typeof value === 'string') return client.escapeLiteral(value)
  throw new Error('Only strings, numbers, booleans and null are written into SQL text')
}
