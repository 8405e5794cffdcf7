import type BetterSqlite3 from 'better-sqlite3'
import type { Knex } from 'knex'

/**
 * Shortcut (SQLite): run on the pool's one connection directly when nobody
 * holds it.
 *
 * Saves: knex's pool hands a connection over asynchronously (a promise, a
 * queue, a turn of the event loop), about a tenth of a small read
 * (BENCHMARKS.md, "Where Roost's time goes": the plain SQL steps). Work on
 * better-sqlite3 is synchronous, so while the pool shows its connection
 * free, work run on it now starts and ends before anything else can ask for
 * it: nothing overlaps, exactly as if the pool had handed it over.
 */
export class IdleConnection {
  /** The pool's connection, once seen. */
  private connection: BetterSqlite3.Database | undefined

  constructor(private readonly db: Knex) {}

  /** The connection, if it is open and the pool holds it free; else undefined (take the pool's way). */
  get(): BetterSqlite3.Database | undefined {
    const pool = this.db.client.pool as PoolCounts | undefined
    return this.connection?.open && pool?.numUsed() === 0 && pool.numFree() === 1 ? this.connection : undefined
  }

  /** Remembers the connection the pool handed over. */
  seen(connection: BetterSqlite3.Database): void {
    this.connection = connection
  }
}

/** What knex's pool (tarn) tells about its connections. */
interface PoolCounts {
  numUsed(): number
  numFree(): number
}
