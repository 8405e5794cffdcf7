import {
  BadRequest,
  Conflict,
  Forbidden,
  FeathersError,
  GeneralError,
  Gone,
  NotFound,
  TooManyRequests,
  Unavailable,
  Unprocessable
} from '@feathersjs/errors'
import { collectionNotFound, roleTooLow } from './access.js'
import { encodeCursor } from './cursor.js'
import { isStorageError, type StorageError } from './storage/index.js'
import type { RecordConflict, StaleCollection } from './storage/errors.js'

/** A collection a conditional commit found changed, with its cursor now. */
const toChanged = (stale: StaleCollection) => ({ collectionId: stale.collectionId, cursor: encodeCursor(stale, stale.seq) })

/** Retry-After of a quota that frees up only when the client acts (deletes a collection): not soon. */
export const QUOTA_RETRY_AFTER_SECONDS = 3600

// Status codes Feathers has no class for.

export class PayloadTooLarge extends FeathersError {
  constructor(message: string, data?: unknown) {
    super(message, 'PayloadTooLarge', 413, 'payload-too-large', data)
  }
}

/** 423: someone else holds a lock on the collection, or the lock token sent is not the lease in force. */
export class Locked extends FeathersError {
  constructor(message: string, data?: unknown) {
    super(message, 'Locked', 423, 'locked', data)
  }
}

export class PreconditionRequired extends FeathersError {
  constructor(message: string, data?: unknown) {
    super(message, 'PreconditionRequired', 428, 'precondition-required', data)
  }
}

/**
 * 503: the database is unreachable or busy, or the server is shutting down.
 * Always says when to come back (`data.retryAfterSeconds`, the Retry-After
 * header over REST): a lost database connection is replaced on the next
 * call, so a short wait is enough.
 */
export const RETRY_UNAVAILABLE_SECONDS = 2

export const unavailable = (message: string, retryAfterSeconds = RETRY_UNAVAILABLE_SECONDS): Unavailable =>
  new Unavailable(message, { retryAfterSeconds })

/** What a 409 carries, so a client can resolve a conflict without another round trip. */
export type ConflictData =
  | { reason: RecordConflict['reason']; current: RecordConflict['current'] }
  | { conflicts: RecordConflict[]; changed?: Array<{ collectionId: string; cursor: string }> }

const CONFLICT_MESSAGES: Record<RecordConflict['reason'], string> = {
  exists: 'A record with this id already exists',
  'version-mismatch': 'The record has changed since the version this write is based on',
  deleted: 'The record has been deleted',
  missing: 'The record does not exist'
}

/**
 * The one mapping from storage errors to Feathers errors (and so to HTTP
 * status codes). `single` is true for calls on one record, whose 409 carries
 * that record's current state directly.
 */
export function fromStorageError(error: StorageError, single: boolean): FeathersError {
  switch (error.kind) {
    case 'conflict': {
      // The key routes' conflicts (KeysPort) say what changed in `data`, as storage wrote it: `{ reason, … }` or `{ current }`.
      if (error.data !== undefined) return new Conflict(error.message, error.data)
      const [first] = error.conflicts
      if (single && error.conflicts.length === 1) {
        if (first.reason === 'missing') return new NotFound(CONFLICT_MESSAGES.missing)
        return new Conflict(CONFLICT_MESSAGES[first.reason], { reason: first.reason, current: first.current })
      }
      return new Conflict(
        error.stale.length > 0 && error.conflicts.length === 0 ? error.message : `${error.conflicts.length} records conflict; nothing was written`,
        { conflicts: error.conflicts, ...(error.stale.length > 0 ? { changed: error.stale.map(toChanged) } : {}) }
      )
    }
    case 'already-exists':
      return new Conflict(error.message)
    case 'not-found':
      return new NotFound(error.message)
    case 'invalid':
      return new BadRequest(error.message)
    case 'too-large':
      return new PayloadTooLarge(error.message)
    case 'quota-exceeded':
      // Every 429 says when to come back (REST: Retry-After); a quota nothing frees by itself says an hour.
      return new TooManyRequests(error.message, { retryAfterSeconds: error.retryAfterSeconds ?? QUOTA_RETRY_AFTER_SECONDS })
    case 'key-reused':
      return new Unprocessable(error.message)
    case 'closed':
      return error.status === 'expired'
        ? new Gone(error.message, { status: error.status })
        : new Conflict(error.message, { status: error.status })
    case 'locked':
      return new Locked(error.message, { locks: error.locks })
    case 'last-owner':
      return new Conflict(error.message, { reason: 'last-owner' })
    case 'forbidden': {
      const access = error.access
      // A check that is not about a collection role (only the invitee answers an invitation).
      if (access === undefined) return new Forbidden(error.message)
      return access.role === undefined ? collectionNotFound(access.collectionId) : roleTooLow(access.collectionId, access.role, access.needs)
    }
    case 'unavailable':
      return unavailable('The database is unavailable; retry later')
    case 'internal':
      return new GeneralError('Internal server error')
  }
}

/**
 * Any error on its way to a client: Feathers errors pass, storage errors are
 * mapped, anything else becomes a bare 500. The original stays in the logs,
 * never in the response.
 */
export function toClientError(error: unknown): FeathersError {
  if (error instanceof FeathersError) {
    // Feathers' own 500s may carry driver messages: keep only the status.
    if (error instanceof Unavailable) return retryAfterOf(error) === undefined ? unavailable(error.message) : error
    return error.code >= 500 ? new GeneralError('Internal server error') : error
  }
  if (isStorageError(error)) return fromStorageError(error, false)
  return new GeneralError('Internal server error')
}

const retryAfterOf = (error: FeathersError): unknown => (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds
