import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Knex } from 'knex'
import { createLogger, type Logger } from '../../logger.js'
import { deferCheckpoints } from './shortcuts/sqlite-checkpointer.js'
import { cachePreparedStatements } from './shortcuts/sqlite-statement-cache.js'

export type KnexDialect = 'sqlite' | 'postgres'

/**
 * Knex settings for a database URL. SQLite is the zero-setup default: a file
 * under the data folder, in WAL mode so readers never block the writer and a
 * killed process loses no committed transaction.
 */
export interface ConnectionOptions {
  /**
   * The SQLite connection's part of the backend's shortcuts (default true):
   * a cache of prepared statements (shortcuts/sqlite-statement-cache.ts) and
   * its own checkpoints deferred to the background checkpointer
   * (shortcuts/sqlite-checkpointer.ts). KnexBackend sets it from its
   * `shortcuts` switch; the benchmark's plain Feathers target turns it off.
   */
  tuned?: boolean
  /**
   * Where knex's warnings and the driver's connection errors go. Without one,
   * a logger of its own at `warn`: knex would otherwise print plain text
   * (coloured, multi-line) on stdout, breaking JSON logs.
   */
  logger?: Logger
  /** PostgreSQL: the most connections the pool opens (config databasePoolSize); 10 when not given. SQLite always has one. */
  poolSize?: number
}

export function knexConfig(
  url: string,
  dataDir: string,
  options: ConnectionOptions = {}
): { dialect: KnexDialect; config: Knex.Config; filename?: string } {
  const logger = (options.logger ?? createLogger('warn')).child({ component: 'knex' })
  const log = knexLog(logger)
  if (/^postgres(ql)?:\/\//.test(url)) {
    return {
      dialect: 'postgres',
      config: {
        client: 'pg',
        connection: url,
        log,
        // knex would otherwise write the query with its values (record data) into a failed query's error message, which is logged.
        compileSqlOnError: false,
        pool: {
          min: 0,
          max: options.poolSize ?? 10,
          afterCreate(connection: PgConnection, done: (error: Error | null, connection: unknown) => void) {
            // knex marks a connection whose server went away (restart,
            // pg_terminate_backend) and drops it on its next use; the operator
            // hears of it here, once, as JSON. (Without any listener an 'error'
            // on an idle client would crash the process.)
            connection.on('error', (error: Error) => logger.warn({ err: error }, 'database connection lost'))
            done(null, connection)
          }
        },
        acquireConnectionTimeout: 10_000
      }
    }
  }

  const filename = sqliteFilename(url, dataDir)
  if (filename !== ':memory:') mkdirSync(path.dirname(filename), { recursive: true, mode: 0o700 })
  const tuned = options.tuned !== false
  return {
    dialect: 'sqlite',
    filename,
    config: {
      client: 'better-sqlite3',
      connection: { filename },
      log,
      compileSqlOnError: false,
      useNullAsDefault: true,
      // better-sqlite3 is synchronous: one connection, and knex queues the rest.
      pool: {
        min: 1,
        max: 1,
        afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: unknown) => void) {
          if (tuned) cachePreparedStatements(connection)
          connection.pragma('journal_mode = WAL')
          // NORMAL is durable against a crashed or killed process in WAL mode;
          // only an OS crash or power loss can lose the last transactions.
          connection.pragma('synchronous = NORMAL')
          connection.pragma('foreign_keys = ON')
          connection.pragma('busy_timeout = 5000')
          if (tuned && filename !== ':memory:') deferCheckpoints(connection)
          done(null, connection)
        }
      },
      acquireConnectionTimeout: 30_000
    }
  }
}

/** knex's own messages (warnings about connections, deprecations) as JSON lines. */
const knexLog = (logger: Logger): Knex.Config['log'] => {
  const line = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    typeof message === 'string' ? logger[level](message) : logger[level]({ detail: message }, 'knex')
  return {
    warn: line('warn'),
    error: line('error'),
    deprecate: (method: string, alternative: string) => logger.warn(`${method} is deprecated; use ${alternative}`),
    debug: line('debug')
  }
}

interface PgConnection {
  on(event: 'error', listener: (error: Error) => void): unknown
}

interface SqliteConnection {
  pragma(sql: string): unknown
  prepare(sql: string): unknown
}

function sqliteFilename(url: string, dataDir: string): string {
  if (url === '') return path.resolve(dataDir, 'roost.sqlite')
  const match = /^sqlite:(?:\/\/)?(.+)$/.exec(url)
  if (!match) {
    throw new Error(`databaseUrl "${redact(url)}" is not supported: use postgres://… or sqlite:<file>, or leave it empty`)
  }
  return match[1] === ':memory:' ? ':memory:' : path.resolve(match[1])
}

/** A database URL without its password, for messages and logs. */
export const redact = (url: string): string => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
