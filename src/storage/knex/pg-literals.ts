import type pg from 'pg'
import type { SqlValue } from './statements.js'

/**
 * A value as a PostgreSQL literal, for the few statements sent as text
 * (several in one round trip, which parameters do not allow), with pg's own escaping.
 */
export function literal(client: pg.ClientBase, value: SqlValue | undefined): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Cannot write ${value} into SQL`)
    return String(value)
  }
  if (typeof value === 'string') return client.escapeLiteral(value)
  throw new Error('Only strings, numbers, booleans and null are written into SQL text')
}
