import { randomUUID } from 'node:crypto'
import knex from 'knex'
import { migrationSource } from '../../../migrations/index.js'
import type { Backend, BackendShortcuts, StorageTx, Tx } from '../backend.js'
import type { Logger } from '../../logger.js'
import type { ChangesPage, ChangesParams, FindRecordsParams, NewUser, Page, PoolStats, PurgeResult, ReplicaReadable, StoredLock, StoredRecord, StoredUser } from '../types.js'
import { knexConfig, type KnexDialect } from './connection.js'
import { retrying, translating } from './driver-errors.js'
import { knexPoolStats } from './pool-stats.js'
import { KnexQueries } from './queries.js'
import { ReadReplica, type ReadReplicaOptions } from './read-replica.js'
import { lockFromRow, userFromRow, type LockRow, type UserRow } from './rows.js'
import { createSessions } from './sessions.js'
import { PostgresSessions } from './postgres-sessions.js'
import { isSingleWrite, singleWriteOnPostgres } from './shortcuts/pg-single-write.js'
import { SqliteCheckpointer } from './shortcuts/sqlite-checkpointer.js'
import * as batches from './sql/batches.js'
import { PURGE_INVITATIONS } from './sql/invitations.js'
import { PURGE_KEYS } from './sql/keys.js'
import { DELETE_EXPIRED_LEASES } from './sql/locks.js'
import { INSERT_USER, SET_USER_PASSWORD } from './sql/users.js'
import { asSteps, execute, select, type Steps } from './statements.js'
import { sqlTx } from './tx/index.js'
import { byAge } from './tx/locks.js'

/** The advisory lock key migrations hold on PostgreSQL ("Roost" in ASCII). */
const MIGRATION_LOCK = 0x526f6f7374

export interface KnexBackendOptions {
  logger?: Logger
  /**
   * The speed-ups of ./shortcuts/ (each file says what it saves). Off, the
   * backend is plain: knex's pool hands over every connection, statements
   * are prepared each time, BEGIN is a round trip of its own, SQLite
   * checkpoints by itself, and there is no `shortcuts` object.
   */
  shortcuts: boolean
  /** A streaming replica for the feed and record reads (PostgreSQL only; ./read-replica.ts). */
  readReplica?: Omit<ReadReplicaOptions, 'logger' | 'poolSize'>
  /** PostgreSQL: connections per pool, the primary's and the replica's (config databasePoolSize). */
  poolSize?: number
}

/**
 * SQLite and PostgreSQL through knex: the mechanisms of backend.ts, no sync
 * rules. A transaction's steps (./tx/) yield SQL statements (./sql/), run
 * by the dialect's sessions (./sqlite-sessions.ts, ./postgres-sessions.ts);
 * driver errors are translated in one place (./driver-errors.ts). Dialect
 * differences stay in connection.ts, the sessions and driver-errors.ts.
 */
export class KnexBackend extends KnexQueries implements Backend {
  readonly name: KnexDialect
  readonly shortcuts?: BackendShortcuts
  private readonly filename: string | undefined
  private readonly useCheckpointer: boolean
  private checkpointer: SqliteCheckpointer | undefined
  private readonly poolMax: number
  /** Where the reads given a horizon go first, when configured; see fromReplica. */
  readonly readReplica: ReadReplica | undefined

  constructor(url: string, dataDir: string, options: KnexBackendOptions) {
    const { dialect, config, filename } = knexConfig(url, dataDir, { logger: options.logger, tuned: options.shortcuts, poolSize: options.poolSize })
    if (options.readReplica !== undefined && dialect !== 'postgres') {
      throw new Error('databaseReadUrl (DATABASE_READ_URL) needs a PostgreSQL databaseUrl: a read replica is a streaming replica of a PostgreSQL primary')
    }
    const db = knex(config)
    const sessions = createSessions(dialect, db, options.shortcuts)
    super(db, sessions)
    this.name = dialect
    this.readReplica = options.readReplica && new ReadReplica({ ...options.readReplica, logger: options.logger, poolSize: options.poolSize })
    this.filename = filename
    this.poolMax = config.pool?.max ?? 0
    this.useCheckpointer = options.shortcuts && filename !== undefined && filename !== ':memory:'
    if (options.shortcuts) {
      this.shortcuts =
        sessions instanceof PostgresSessions
          ? {
              commitSingleWrite: async (writes, context) =>
                isSingleWrite(writes, context) ? retrying(() => sessions.withClient((client) => singleWriteOnPostgres(client, writes, context))) : undefined
            }
          : {}
    }
  }

  async migrate(): Promise<void> {
    await translating(() => (this.name === 'postgres' ? this.migrateAlone() : this.db.migrate.latest({ migrationSource })))
    // Started once the file and its log exist.
    if (this.useCheckpointer) this.checkpointer ??= new SqliteCheckpointer(this.filename!)
  }

  /**
   * Several instances started at once on a fresh PostgreSQL database would
   * each create knex's migration tables and collide (knex's own lock row
   * only exists once those tables do): one migrates at a time, under a
   * session advisory lock; the others then find nothing left to do.
   */
  private async migrateAlone(): Promise<void> {
    const connection = (await this.db.client.acquireConnection()) as { query(sql: string, values: unknown[]): Promise<unknown> }
    try {
      await connection.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
      try {
        await this.db.migrate.latest({ migrationSource })
      } finally {
        await connection.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
      }
    } finally {
      await this.db.client.releaseConnection(connection)
    }
  }

  async ping(): Promise<void> {
    // Through the sessions, as requests read: on SQLite it waits its turn on the one connection like them.
    await this.read(select('SELECT 1 AS one', []))
  }

  poolStats(): PoolStats {
    return knexPoolStats(this.db, this.poolMax)
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop()
    await this.readReplica?.close()
    await this.db.destroy()
  }

  // The reads a replica may serve: the only place that chooses between primary and replica.

  override getRecord(collectionId: string, id: string, options?: ReplicaReadable): Promise<StoredRecord | undefined> {
    return this.fromReplica(collectionId, options?.horizon, (replica) => replica.getRecord(collectionId, id), () => super.getRecord(collectionId, id))
  }

  override findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
    return this.fromReplica(collectionId, params.horizon, (replica) => replica.findRecords(collectionId, params), () => super.findRecords(collectionId, params))
  }

  override changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage> {
    return this.fromReplica(collectionId, params.horizon, (replica) => replica.changesSince(collectionId, params), () => super.changesSince(collectionId, params))
  }

  /**
   * A read of one collection with a horizon goes to the replica, which serves
   * it from a state that includes the horizon (read-replica.ts says why that
   * is as good as the primary's answer) or gives it back; the primary serves
   * the rest, and every read inside a transaction (those never come here).
   */
  private async fromReplica<T>(
    collectionId: string,
    horizon: number | undefined,
    onReplica: (replica: KnexQueries) => Promise<T>,
    onPrimary: () => Promise<T>
  ): Promise<T> {
    if (this.readReplica !== undefined && horizon !== undefined) {
      const served = await this.readReplica.read(collectionId, horizon, onReplica)
      if (served !== undefined) return served.value
    }
    return onPrimary()
  }

  async transaction<T>(work: (tx: StorageTx) => Tx<T>): Promise<T> {
    return retrying(() => this.sessions.write(asSteps(work(sqlTx))))
  }

  async createUser(user: NewUser, at: string): Promise<StoredUser> {
    const row: UserRow = { id: randomUUID(), email: user.email, password: user.password, created_at: at }
    // An e-mail address taken fails the INSERT: 'already-exists' (driver-errors.ts).
    await this.write(() => execute(INSERT_USER, [row.id, row.email, row.password, row.created_at]))
    return userFromRow(row)
  }

  async setUserPassword(id: string, password: string): Promise<boolean> {
    return (await this.write(() => execute(SET_USER_PASSWORD, [password, id]))) > 0
  }

  async purgeExpired(now: string, retainUntil: string): Promise<PurgeResult> {
    return this.write(() => purge(now, retainUntil))
  }

  async expireLeases(now: string): Promise<StoredLock[]> {
    // DELETE … RETURNING: each lease is returned by the one statement (of any instance) that deleted it.
    const rows = await this.write(() => select<LockRow>(DELETE_EXPIRED_LEASES, [now]))
    return rows.map(lockFromRow).sort(byAge)
  }

  /** Steps of this file's own, in one transaction (made afresh for each attempt). */
  private async write<T>(steps: () => Steps<T>): Promise<T> {
    return retrying(() => this.sessions.write(steps()))
  }
}

function* purge(now: string, retainUntil: string): Steps<PurgeResult> {
  const expiredBatches = yield* execute(batches.EXPIRE_OPEN_BATCHES, [now])
  yield* execute(batches.DROP_CLOSED_BATCH_OPERATIONS, [])
  const deletedBatches = yield* execute(batches.PURGE_BATCHES, [retainUntil])
  const deletedKeys = yield* execute(PURGE_KEYS, [now])
  const deletedInvitations = yield* execute(PURGE_INVITATIONS, [retainUntil, retainUntil])
  return { expiredBatches, deletedBatches, deletedKeys, deletedInvitations }
}
