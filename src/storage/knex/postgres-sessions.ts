import type { Knex } from 'knex'
import type pg from 'pg'
import type { Sessions } from './sessions.js'
import { beginWith } from './shortcuts/pg-pipelined-begin.js'
import { runAsync, type SqlValue, type Statement, type StatementResult, type Steps } from './statements.js'

/**
 * Statements on one pooled client each: a transaction is BEGIN … COMMIT on
 * that client (READ COMMITTED; the steps take the rows they depend on with
 * their first statement, backend.ts takeCollection), ROLLBACK when anything
 * fails.
 */
export class PostgresSessions implements Sessions {
  private readonly texts = new Map<string, string>()

  constructor(
    private readonly db: Knex,
    /** Shortcut: BEGIN travels with the first statement (shortcuts/pg-pipelined-begin.ts). */
    private readonly pipelineBegin: boolean
  ) {}

  async read<T>(steps: Steps<T>): Promise<T> {
    return this.withClient((client) => runAsync(steps, (statement) => this.run(client, statement)))
  }

  async write<T>(steps: Steps<T>): Promise<T> {
    return this.withClient(async (client) => {
      let begun = false
      try {
        if (!this.pipelineBegin) {
          await client.query('BEGIN')
          begun = true
        }
        const result = await runAsync(
          steps,
          async ({ then, ...statement }) => {
            if (!begun) {
              begun = true
              return beginWith(client, statement, then)
            }
            return this.runWithThen(client, { ...statement, then })
          },
          true
        )
        if (begun) await client.query('COMMIT')
        return result
      } catch (error) {
        // A failed ROLLBACK means a broken connection, which the pool drops; the first error is the one to report.
        if (begun) await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  /** A statement, and the one paired after it (statements.ts `then`), one after the other. */
  private async runWithThen(client: pg.ClientBase, { then, ...statement }: Statement): Promise<StatementResult> {
    return then === undefined ? this.run(client, statement) : [await this.run(client, statement), await this.run(client, then)]
  }

  private async run(client: pg.ClientBase, { sql, bindings, expect }: Statement): Promise<StatementResult> {
    const result = await client.query({ text: this.numbered(sql), values: bindings as SqlValue[], ...(expect === 'tuples' ? { rowMode: 'array' } : {}) })
    return expect === 'count' ? (result.rowCount ?? 0) : result.rows
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

  /** A client of knex's pool for the work, given back after it. */
  async withClient<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = (await this.db.client.acquireConnection()) as pg.ClientBase
    try {
      return await work(client)
    } finally {
      await this.db.client.releaseConnection(client)
    }
  }
}
