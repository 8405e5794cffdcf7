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
 * A write met a 404 (or a batch a `missing` record we had a version of):
 * the collection may have been deleted, and perhaps created again. Not
 * fatal yet: the sync cycle pulls these collections first; a 410 there
 * resets the replica (the writes then go again, as creations), a 404 is
 * fatal. Only a second one in the same cycle is fatal at once.
 */
export class ResyncNeeded extends Error {
  constructor(readonly error: RoostError, readonly collectionIds: string[]) {
    super(error.message)
    this.name = 'ResyncNeeded'
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
