import { RoostError, isTransient } from '../errors.js'
import type { WriteFailure } from '../types.js'

/** The client has to stop syncing until the app acts (persisted). */
export class FatalError extends Error {
  constructor(readonly error: RoostError, readonly collectionId?: string) {
    super(error.message)
    this.name = 'FatalError'
  }
}

/**
 * A push found the collection not as our copy knows it (a 404 for a record
 * we know, a record with a known version now missing altogether): it was
 * deleted, or deleted and created again. Pulling it tells which: a 410
 * drops our copy (pending writes stay, as new writes), a 404 is fatal.
 */
export class ReplicaCheck extends Error {
  readonly collectionIds: string[]
  constructor(collectionIds: string | string[], readonly error: RoostError) {
    super(error.message)
    this.name = 'ReplicaCheck'
    this.collectionIds = typeof collectionIds === 'string' ? [collectionIds] : [...new Set(collectionIds)]
  }
}

export const failureOf = (error: RoostError): WriteFailure => ({ code: error.code, name: error.name, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) })

/**
 * How a failed push of one record ends: retry later (transient, or a lock
 * held by someone else that will end), reject this write for good, or
 * stop (the collection or the account is gone). 401 is handled before.
 */
export function classifyWriteError(error: RoostError, carriesLockToken: boolean): 'retry' | 'reject' | 'fatal' {
  if (isTransient(error)) return 'retry'
  if (error.code === 423) return carriesLockToken ? 'reject' : 'retry'
  if (error.code === 404 || error.code === 410) return 'fatal'
  return 'reject'
}
