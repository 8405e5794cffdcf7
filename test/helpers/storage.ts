import { expect } from 'vitest'
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
