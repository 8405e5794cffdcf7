import type { Knex } from 'knex'
import type { PoolStats } from '../types.js'

/**
 * knex's pool (tarn) as PoolStats: every statement, sessions' included,
 * runs on a connection of this pool (sessions.ts). On SQLite the pool is the
 * one connection (`max` 1): `pending` then counts the calls queued behind
 * the one running, the useful number there. With the SQLite shortcuts, a
 * connection the pool holds idle is used without a checkout
 * (shortcuts/sqlite-idle-connection.ts), synchronously, so no reading could
 * see it "used" anyway.
 *
 * Before the pool exists or after it was destroyed: all zero but `max`.
 */
export function knexPoolStats(db: Knex, max: number): PoolStats {
  const pool = db.client.pool
  if (pool === undefined || !('numUsed' in pool)) return { used: 0, free: 0, pending: 0, max }
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires(), max }
}
