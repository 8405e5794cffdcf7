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
}

/**
 * Picks the backend for a database URL: empty or `sqlite:` → SQLite under the
 * data folder, `postgres://` → PostgreSQL, `mongodb://` → MongoDB. The sync
 * rules above it are the same for all.
 */
export function createStorage(databaseUrl: string, dataDir: string, options: StorageOptions = {}): Storage {
  const shortcuts = options.shortcuts ?? true
  return new SyncStorage(createBackend(databaseUrl, dataDir, { logger: options.logger, shortcuts }), { shortcuts })
}

/** The backend alone, for tests that look beneath the rules. */
export function createBackend(databaseUrl: string, dataDir: string, options: { logger?: Logger; shortcuts: boolean }): Backend {
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) return createMongoBackend(databaseUrl, { logger: options.logger })
  return new KnexBackend(databaseUrl, dataDir, options)
}
