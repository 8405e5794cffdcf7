import knex, { type Knex } from 'knex'
import { createLogger, type Logger } from '../../logger.js'
import { knexConfig, redact } from './connection.js'
import { PostgresSessions } from './postgres-sessions.js'
import { KnexQueries } from './queries.js'
import type { ReadReplicaView, ReplicaReadCounts } from '../types.js'

export interface ReadReplicaOptions {
  /** postgres://… of a streaming replica (hot standby) of the primary. */
  url: string
  /** How long a read waits for the replica to catch up with its horizon before it goes to the primary. */
  maxWaitMilliseconds: number
  logger?: Logger
  /** The most connections to the replica (config databasePoolSize, as the primary's). */
  poolSize?: number
}


/** After a failure, reads skip the replica this long (instead of each paying for a refused or hanging connection). */
const FAILING_PAUSE_MS = 5000
/** The replica's pool gives up on a connection after this long (the primary's waits 10 s): the primary is there. */
const ACQUIRE_TIMEOUT_MS = 2000
/** Shown in the replica's pg_stat_activity, so an operator (and the tests) see which sessions are Roost's reads. */
export const REPLICA_APPLICATION_NAME = 'roost-read'

/**
 * A PostgreSQL streaming replica that serves some reads of committed state:
 * the change feed and record reads, which the backend offers it with a
 * horizon (types.ts ReplicaReadable). Everything else, and everything
 * inside a write, stays on the primary (knex-backend.ts).
 *
 * Why a horizon makes a replica's answer as good as the primary's: the
 * replica replays the primary's WAL in commit order, so every snapshot it
 * takes is a state the primary had. The writes of one collection are ordered
 * by the collection row (backend.ts takeCollection), and the row's `seq` and
 * the records it numbers commit together; so a replica snapshot whose
 * `collections.seq` is at least the horizon holds every change the primary
 * had committed to that collection when the request read it, and nothing
 * the primary did not have. A feed page read there, `more: false` included,
 * is exactly the page the primary would have given at some moment during
 * the request; it never stops short of a change committed before the
 * request, nor skips one (the cursor is at most the horizon: cursor.ts).
 * The check and the read run in one REPEATABLE READ transaction so that
 * they see one snapshot, even when the URL leads to several replicas. (The
 * price: BEGIN and COMMIT and the check are three round trips more than the
 * same read on the primary; the replica is there to take load, not latency.)
 *
 * A replica behind the horizon is asked again (5, 10, 20, 40, 50, 50 … ms
 * apart) until maxWaitMilliseconds has passed; then the read goes to the
 * primary. A replica that fails (down, refusing, a query cancelled by
 * replay) sends reads to the primary for FAILING_PAUSE_MS: the service stays
 * up, only the primary works harder.
 */
export class ReadReplica implements ReadReplicaView {
  private readonly db: Knex
  private readonly logger: Logger
  private failingUntil = 0
  readonly counts: ReplicaReadCounts = { replica: 0, primaryBehind: 0, primaryFailing: 0 }

  constructor(private readonly options: ReadReplicaOptions) {
    this.logger = (options.logger ?? createLogger('warn')).child({ component: 'read-replica' })
    const { dialect, config } = knexConfig(options.url, '.', { logger: options.logger, poolSize: options.poolSize })
    if (dialect !== 'postgres') throw new Error(`databaseReadUrl "${redact(options.url)}" is not a PostgreSQL URL (postgres://…)`)
    this.db = knex({
      ...config,
      connection: { connectionString: options.url, application_name: REPLICA_APPLICATION_NAME },
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS
    })
  }

  /**
   * `read` on the replica, in a snapshot that includes `horizon` of the
   * collection: `{ value }`; undefined when the caller must read from the
   * primary instead (the replica behind for too long, or failing).
   */
  async read<T>(collectionId: string, horizon: number, read: (queries: KnexQueries) => Promise<T>): Promise<{ value: T } | undefined> {
    if (Date.now() < this.failingUntil) {
      this.counts.primaryFailing++
      return undefined
    }
    const deadline = Date.now() + this.options.maxWaitMilliseconds
    try {
      for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
        const answer = await this.db.transaction(
          async (trx) => {
            const [row] = (await trx.raw('SELECT seq FROM collections WHERE id = ?', [collectionId])).rows as Array<{ seq: string | number }>
            // No row: the collection is newer than the replica's state (or deleted since the request read it): behind.
            if (row === undefined || Number(row.seq) < horizon) return undefined
            return { value: await read(new KnexQueries(trx, new PostgresSessions(trx, false))) }
          },
          { isolationLevel: 'repeatable read', readOnly: true }
        )
        if (answer !== undefined) {
          this.counts.replica++
          return answer
        }
        if (Date.now() + pause > deadline) {
          this.counts.primaryBehind++
          return undefined
        }
        await new Promise((resolve) => setTimeout(resolve, pause))
      }
    } catch (error) {
      this.failingUntil = Date.now() + FAILING_PAUSE_MS
      this.counts.primaryFailing++
      // The driver's message names the host and the problem, never the password or the query's values.
      this.logger.warn({ err: error, pauseMilliseconds: FAILING_PAUSE_MS }, 'read replica failed: its reads go to the primary for a while')
      return undefined
    }
  }

  /** As Storage.ping, on the replica (/ready). */
  async ping(): Promise<void> {
    await this.db.raw('SELECT 1')
  }

  async close(): Promise<void> {
    await this.db.destroy()
  }
}
