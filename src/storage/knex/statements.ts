import type { Tx } from '../backend.js'

/**
 * The steps of this backend's transactions (backend.ts, `Tx`): a step yields
 * one SQL statement at a time and gets its result back. Written this way a
 * rule exists once, while SQLite runs a whole write transaction without
 * yielding to the event loop (no other request can queue behind a half-done
 * transaction on SQLite's single connection) and PostgreSQL runs it
 * asynchronously; and knex's per-statement query building (about 40% of a
 * small write's CPU) is skipped on every path a request takes. Cold reads
 * (queries.ts) and migrations stay on knex's query builder.
 *
 * The SQL (./sql/) uses `?` placeholders and only syntax both databases
 * share (`RETURNING` needs SQLite ≥ 3.35, which better-sqlite3 bundles;
 * `ON CONFLICT … DO UPDATE SET x = excluded.x` SQLite ≥ 3.24). Booleans are
 * bound as booleans; the SQLite runner turns them into numbers.
 */

export type SqlValue = string | number | boolean | null

export interface Statement {
  sql: string
  bindings: readonly SqlValue[]
  /**
   * `rows`: the rows it returns; `tuples`: the same rows as arrays of values
   * in the order of its columns (reads outside transactions only: the bulk
   * read of the feed, where making an object per row is a large part of the
   * read's cost); `count`: how many rows it changed.
   */
  expect: 'rows' | 'tuples' | 'count'
  /**
   * A SELECT to run right after this one, as its own statement (on
   * PostgreSQL with its own snapshot: it sees what committed while the first
   * waited for a lock). Runners that can send both in one round trip do; the
   * step gets both results, `[first, then]`.
   */
  then?: Statement
}

export type StatementResult = readonly unknown[] | number

/** A storage operation as a sequence of statements, each fed its result. */
export type Steps<T> = Generator<Statement, T, StatementResult>

/** Runs a SELECT (or a write with RETURNING) and gives its rows. */
export function* select<Row>(sql: string, bindings: readonly SqlValue[]): Steps<Row[]> {
  return (yield { sql, bindings, expect: 'rows' }) as Row[]
}

/** Runs a SELECT and gives its rows as arrays of values, in the order of its columns (Statement `tuples`). */
export function* selectTuples<Tuple extends readonly unknown[]>(sql: string, bindings: readonly SqlValue[]): Steps<Tuple[]> {
  return (yield { sql, bindings, expect: 'tuples' }) as Tuple[]
}

/** Two statements, the second a SELECT run after the first (see Statement.then): both results. */
export function* selectPair<First, Then>(first: Statement, then: Statement): Steps<[First[], Then[]]> {
  return (yield { ...first, then }) as unknown as [First[], Then[]]
}

/** A SELECT (or a write with RETURNING) as a Statement value, for selectPair. */
export const rowsOf = (sql: string, bindings: readonly SqlValue[]): Statement => ({ sql, bindings, expect: 'rows' })

/** Runs a write and gives how many rows it changed. */
export function* execute(sql: string, bindings: readonly SqlValue[]): Steps<number> {
  return (yield { sql, bindings, expect: 'count' }) as number
}

/** `(?, ?, ?)` for a list of n values. */
export const placeholders = (n: number): string => `(${new Array<string>(n).fill('?').join(', ')})`

/** Memoises the SQL of a statement whose shape depends only on a length (lengths are bounded by chunks.ts). */
export function sqlForLength(make: (n: number) => string): (n: number) => string {
  const made = new Map<number, string>()
  return (n) => {
    let sql = made.get(n)
    if (sql === undefined) made.set(n, (sql = make(n)))
    return sql
  }
}

/**
 * What a step itself threw (a rule's StorageError or Replay, or a bug), boxed
 * on its way out of a runner so that the backend tells it from a driver
 * error: those are retried or translated, this is passed on as it is
 * (KnexBackend.transaction).
 */
export class ThrownByStep {
  constructor(readonly error: unknown) {}
}

function advance<T>(steps: Steps<T>, result?: StatementResult): IteratorResult<Statement, T> {
  try {
    return result === undefined ? steps.next() : steps.next(result)
  } catch (error) {
    throw new ThrownByStep(error)
  }
}

/** Runs the steps; `run` gets single statements (a pair is run one after the other). */
export function runSync<T>(steps: Steps<T>, run: (statement: Statement) => StatementResult): T {
  const runOne = ({ then, ...statement }: Statement): StatementResult => (then === undefined ? run(statement) : [run(statement), run(then)])
  let next = advance(steps)
  while (!next.done) next = advance(steps, runOne(next.value))
  return next.value
}

/**
 * Runs the steps asynchronously. `run` gets single statements, and pairs
 * (`then`) too when `runsPairs` says it sends them together; otherwise a pair
 * is run one after the other.
 */
export async function runAsync<T>(steps: Steps<T>, run: (statement: Statement) => Promise<StatementResult>, runsPairs = false): Promise<T> {
  const runOne = async ({ then, ...statement }: Statement): Promise<StatementResult> =>
    then === undefined ? run(statement) : runsPairs ? run({ ...statement, then }) : [await run(statement), await run(then)]
  let next = advance(steps)
  while (!next.done) next = advance(steps, await runOne(next.value))
  return next.value
}

/** A step of backend.ts (`Tx`) as this backend's steps: every step of ./tx/ yields Statements. */
export const asSteps = <T>(tx: Tx<T>): Steps<T> => tx as Steps<T>
