import type { Logger } from '../logger.js'
import type { Backend } from './backend.js'
import { KnexBackend } from './knex/knex-backend.js'
import { createMongoBackend } from './mongodb/index.js'
import type { Storage } from './port.js'
import { SyncStorage } from './sync-storage.js'

export type { Storage } from './port.js'
export { StorageError, isStorageError } from './errors.js'

export interface StorageOptions {
  logger?: Logger
  /** The speed-ups, on by default (config `storageShortcuts`); off, the reference path alone. */
  shortcuts?: boolean
  /** A PostgreSQL streaming replica for the feed and record reads (config databaseReadUrl, readReplica). */
  readReplica?: { url: string; maxWaitMilliseconds: number }
  /** Connections per database pool (config databasePoolSize); the backend's default when not given. */
  poolSize?: number
}

/**
 * Picks the backend for a database URL: empty or `sqlite:` → SQLite under the
 * data folder, `postgres://` → PostgreSQL, `mongodb://` → MongoDB. The sync
 * rules above it are the same for all.
 */
export function createStorage(databaseUrl: string, dataDir: string, options: StorageOptions = {}): Storage {
  const shortcuts = options.shortcuts ?? true
  return new SyncStorage(createBackend(databaseUrl, dataDir, { logger: options.logger, shortcuts, readReplica: options.readReplica, poolSize: options.poolSize }), { shortcuts })
}

/** The backend alone, for tests that look beneath the rules. */
export function createBackend(
  databaseUrl: string,
  dataDir: string,
  options: { logger?: Logger; shortcuts: boolean; readReplica?: { url: string; maxWaitMilliseconds: number }; poolSize?: number }
): Backend {
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    // Read replicas are PostgreSQL's only (knex/read-replica.ts).
    if (options.readReplica !== undefined) throw new Error('databaseReadUrl (DATABASE_READ_URL) needs a PostgreSQL databaseUrl, not MongoDB')
    return createMongoBackend(databaseUrl, { logger: options.logger, poolSize: options.poolSize })
  }
  return new KnexBackend(databaseUrl, dataDir, options)
}
