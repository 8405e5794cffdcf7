/**
 * Shortcut (SQLite): prepared statements kept per connection.
 *
 * Saves: knex and the plain path prepare every statement afresh, and
 * preparing is about a tenth of a small write's CPU (BENCHMARKS.md, "Where
 * Roost's time goes"; the plain-Feathers target runs without it).
 * better-sqlite3 statements can be run again (every caller runs each to the
 * end at once), so the recent ones are kept by their SQL text. Nothing
 * changes but the time: the same SQL gives the same statement.
 */

const STATEMENT_CACHE_SIZE = 500

interface Preparing {
  prepare(sql: string): unknown
}

export function cachePreparedStatements(connection: Preparing): void {
  const prepare = connection.prepare.bind(connection)
  const cache = new Map<string, unknown>()
  connection.prepare = (sql: string) => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      statement = prepare(sql)
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
      cache.set(sql, statement)
    }
    return statement
  }
}
