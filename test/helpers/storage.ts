import { expect } from 'vitest'
import { createStorage, StorageError, type Storage } from '../../src/storage/index.js'
import type { StorageErrorKind } from '../../src/storage/errors.js'
import type { TestBackend } from './backends.js'

/** A storage on a fresh, migrated database of its own (test/storage/suite). */
export interface TestStorage {
  storage: Storage
  /** Another storage instance on the same database, with the same options: a second server, or a restart. */
  open(): Storage
  /** Closes the storage and drops its database. */
  cleanup(): Promise<void>
}

/** Makes storages on fresh databases of `backend`, with the speed-ups unless it says `shortcuts: false`. */
export const storageOn =
  (backend: TestBackend) =>
  async (): Promise<TestStorage> => {
    const database = await backend.create()
    const open = () => createStorage(database.databaseUrl, database.dataDir, { shortcuts: backend.shortcuts !== false })
    const storage = open()
    await storage.migrate()
    return {
      storage,
      open,
      async cleanup() {
        await storage.close()
        await database.cleanup()
      }
    }
  }

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
