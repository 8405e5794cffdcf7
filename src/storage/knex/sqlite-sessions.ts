import type BetterSqlite3 from 'better-sqlite3'
import type { Knex } from 'knex'
import type { Sessions } from './sessions.js'
import { IdleConnection } from './shortcuts/sqlite-idle-connection.js'
import { runSync, type Statement, type StatementResult, type Steps } from './statements.js'

/**
 * better-sqlite3 is synchronous: a whole transaction runs in one turn of the
 * event loop, on the pool's one connection, so nothing waits behind (or
 * slips into) a half-done transaction. BEGIN IMMEDIATE takes SQLite's write
 * lock at the start, so write transactions, even from other processes, run
 * one at a time: each sees every one that committed before it.
 */
export class SqliteSessions implements Sessions {
  /** Shortcut: the connection when the pool holds it idle (shortcuts/sqlite-idle-connection.ts). */
  private readonly idle: IdleConnection | undefined

  constructor(
    private readonly db: Knex,
    shortcuts: boolean
  ) {
    this.idle = shortcuts ? new IdleConnection(db) : undefined
  }

  async read<T>(steps: Steps<T>): Promise<T> {
    return this.withConnection((connection) => runSync(steps, (statement) => runOnSqlite(connection, statement)))
  }

  async write<T>(steps: Steps<T>): Promise<T> {
    return this.withConnection((connection) =>
      connection.transaction(() => runSync(steps, (statement) => runOnSqlite(connection, statement))).immediate()
    )
  }

  private async withConnection<T>(work: (connection: BetterSqlite3.Database) => T): Promise<T> {
    const idle = this.idle?.get()
    if (idle !== undefined) return work(idle)
    const connection = (await this.db.client.acquireConnection()) as BetterSqlite3.Database
    this.idle?.seen(connection)
    try {
      return work(connection)
    } finally {
      this.db.client.releaseConnection(connection)
    }
  }
}

function runOnSqlite(connection: BetterSqlite3.Database, { sql, bindings, expect }: Statement): StatementResult {
  // With shortcuts, prepared statements are cached per connection (shortcuts/sqlite-statement-cache.ts).
  const statement = connection.prepare(sql)
  // SQLite has no booleans.
  const values = bindings.map((value) => (typeof value === 'boolean' ? Number(value) : value))
  if (expect === 'count') return statement.run(values).changes
  // raw: arrays rather than objects. Set on every call: the statement may come from the cache, as read either way.
  return statement.raw(expect === 'tuples').all(values)
}
