import type BetterSqlite3 from 'better-sqlite3'
import type { Knex } from 'knex'
import type pg from 'pg'
import type { KnexDialect } from './connection.js'
import type { CommitOutcome, RecordWrite, WriteContext } from '../types.js'
import { literal } from './pg-literals.js'
import { singleWriteOnPostgres } from './pg-single-write.js'
import { runAsync, runSync, type SqlValue, type Statement, type StatementResult, type Steps } from './statements.js'

/**
 * Runs statement steps (./statements.ts) on the connections of knex's pool,
 * so that they take turns with knex's own queries and transactions exactly as
 * knex's queries do (on SQLite: the one connection).
 */
export interface Sessions {
  /** Each statement on its own, seeing what is committed. */
  read<T>(steps: Steps<T>): Promise<T>
  /** All statements in one transaction: committed if the steps return, rolled back if they throw. */
  write<T>(steps: Steps<T>): Promise<T>
  /**
   * A shorter way for a single versioned write, where the dialect has one
   * (PostgreSQL: pg-single-write.ts): its outcome, or undefined to take the
   * general path.
   */
  writeOne?(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined>
}

export const createSessions = (dialect: KnexDialect, db: Knex): Sessions =>
  dialect === 'sqlite' ? new SqliteSessions(db) : new PostgresSessions(db)

/** Steps inside a transaction knex already opened (batch commits). */
export async function runInKnexTransaction<T>(trx: Knex.Transaction, steps: Steps<T>): Promise<T> {
  return runAsync(steps, async ({ sql, bindings, expect }) => {
    const response = (await trx.raw(sql, bindings as SqlValue[])) as unknown
    if (Array.isArray(response)) return expect === 'rows' ? response : response.length // better-sqlite3 rows
    const { rows, rowCount, changes } = response as { rows?: unknown[]; rowCount?: number | null; changes?: number }
    return expect === 'rows' ? (rows ?? []) : (rowCount ?? changes ?? 0)
  })
}

/**
 * better-sqlite3 is synchronous: a whole write transaction runs in one turn
 * of the event loop, so nothing waits behind a half-done transaction.
 */
class SqliteSessions implements Sessions {
  constructor(private readonly db: Knex) {}

  async read<T>(steps: Steps<T>): Promise<T> {
    return this.withConnection((connection) => runSync(steps, (statement) => runOnSqlite(connection, statement)))
  }

  async write<T>(steps: Steps<T>): Promise<T> {
    return this.withConnection((connection) =>
      connection.transaction(() => runSync(steps, (statement) => runOnSqlite(connection, statement))).immediate()
    )
  }

  /** The pool's one connection, once seen. */
  private connection: BetterSqlite3.Database | undefined

  private async withConnection<T>(work: (connection: BetterSqlite3.Database) => T): Promise<T> {
    // Synchronous work on an idle connection cannot overlap anything: skip
    // the pool's asynchronous hand-over (a tenth of a small read).
    const pool = this.db.client.pool as PoolCounts | undefined
    if (this.connection?.open && pool?.numUsed() === 0 && pool.numFree() === 1) return work(this.connection)
    const connection = (await this.db.client.acquireConnection()) as BetterSqlite3.Database
    this.connection = connection
    try {
      return work(connection)
    } finally {
      this.db.client.releaseConnection(connection)
    }
  }
}

/** What knex's pool (tarn) tells about its connections. */
interface PoolCounts {
  numUsed(): number
  numFree(): number
}

function runOnSqlite(connection: BetterSqlite3.Database, { sql, bindings, expect }: Statement): StatementResult {
  // Prepared statements are cached per connection (connection.ts).
  const statement = connection.prepare(sql)
  // SQLite has no booleans.
  const values = bindings.map((value) => (typeof value === 'boolean' ? Number(value) : value))
  return expect === 'rows' ? statement.all(values) : statement.run(values).changes
}

class PostgresSessions implements Sessions {
  private readonly texts = new Map<string, string>()

  constructor(private readonly db: Knex) {}

  async read<T>(steps: Steps<T>): Promise<T> {
    return this.withClient((client) => runAsync(steps, (statement) => this.run(client, statement)))
  }

  async write<T>(steps: Steps<T>): Promise<T> {
    return this.withClient(async (client) => {
      let begun = false
      try {
        const result = await runAsync(
          steps,
          async ({ then, ...statement }) => {
            if (!begun) {
              begun = true
              return this.beginWith(client, statement, then)
            }
            return then === undefined ? this.run(client, statement) : [await this.run(client, statement), await this.run(client, then)]
          },
          true
        )
        if (!begun) await client.query('BEGIN')
        await client.query('COMMIT')
        return result
      } catch (error) {
        // A failed ROLLBACK means a broken connection, which the pool drops; the first error is the one to report.
        await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  async writeOne(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined> {
    return this.withClient((client) => singleWriteOnPostgres(client, writes, context))
  }

  private async run(client: pg.ClientBase, { sql, bindings, expect }: Statement): Promise<StatementResult> {
    const result = await client.query(this.numbered(sql), bindings as SqlValue[])
    return expect === 'rows' ? result.rows : (result.rowCount ?? 0)
  }

  /**
   * BEGIN, the transaction's first statement and the SELECT that may follow
   * it in one round trip: a multi-statement simple query, so the values are
   * written into the text as literals (pg's own escaping). Each statement of
   * it still gets its own snapshot (READ COMMITTED). A write's first
   * statement is small and the same shape each time; this saves one or two
   * of its round trips.
   */
  private async beginWith(client: pg.ClientBase, first: Statement, then: Statement | undefined): Promise<StatementResult> {
    const inline = ({ sql, bindings }: Statement) => {
      let n = 0
      return sql.replace(/\?/g, () => literal(client, bindings[n++]))
    }
    const text = ['BEGIN', inline(first), ...(then === undefined ? [] : [inline(then)])].join('; ')
    const results = (await client.query(text)) as unknown as pg.QueryResult[]
    const resultOf = (statement: Statement, result: pg.QueryResult): StatementResult =>
      statement.expect === 'rows' ? result.rows : (result.rowCount ?? 0)
    return then === undefined ? resultOf(first, results[1]) : [resultOf(first, results[1]), resultOf(then, results[2])]
  }

  /** `?` → `$1, $2, …`, as knex does, kept per statement text. */
  private numbered(sql: string): string {
    let text = this.texts.get(sql)
    if (text === undefined) {
      let n = 0
      text = sql.replace(/\?/g, () => `$${++n}`)
      if (this.texts.size > 1000) this.texts.clear()
      this.texts.set(sql, text)
    }
    return text
  }

  private async withClient<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = (await this.db.client.acquireConnection()) as pg.ClientBase
    try {
      return await work(client)
    } finally {
      await this.db.client.releaseConnection(client)
    }
  }
}

