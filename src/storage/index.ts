import type { Logger } from '../logger.js'
import { KnexStorage } from './knex/knex-storage.js'
import type { Storage } from './types.js'

export type { Storage } from './types.js'
export { StorageError, isStorageError } from './errors.js'

/**
 * Picks the backend for a database URL: empty or `sqlite:` → SQLite under the
 * data folder, `postgres://` → PostgreSQL. New backends plug in here.
 */
export function createStorage(databaseUrl: string, dataDir: string, options: { logger?: Logger } = {}): Storage {
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    throw new Error('The MongoDB backend is not available yet: use SQLite (default) or postgres://')
  }
  return new KnexStorage(databaseUrl, dataDir, options)
}
