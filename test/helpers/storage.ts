import type { Knex } from 'knex'
import { expect } from 'vitest'
import { KnexBackend } from '../../src/storage/knex/knex-backend.js'
import type { Storage } from '../../src/storage/port.js'
import { StorageError } from '../../src/storage/index.js'
import type { StorageErrorKind } from '../../src/storage/errors.js'

/** Awaits a promise that must reject with a StorageError (of `kind`, when given) and returns the error. */
export async function rejection(promise: Promise<unknown>, kind?: StorageErrorKind): Promise<StorageError> {
  let outcome: unknown
  try {
    outcome = await promise
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError)
    const storageError = error as StorageError
    if (kind !== undefined) expect(storageError.kind).toBe(kind)
    return storageError
  }
  throw new Error(`Expected a StorageError${kind === undefined ? '' : ` (${kind})`}, but it resolved to ${JSON.stringify(outcome)}`)
}

/**
 * The knex handle under a storage made by createStorage for SQLite or
 * PostgreSQL, for the few tests that look at or change rows directly.
 * (SyncStorage keeps its backend as `db`.)
 */
export function knexOf(storage: Storage): Knex {
  const backend = (storage as unknown as { db: unknown }).db
  if (!(backend instanceof KnexBackend)) throw new Error(`Storage on ${storage.backend} has no knex handle`)
  return backend.db
}
