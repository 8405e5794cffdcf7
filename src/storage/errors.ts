import type { MemberRole, StoredLock, StoredRecord } from './types.js'

/**
 * The closed set of things that can go wrong in storage. Backends translate
 * their driver's errors into these once (see knex/driver-errors.ts); the
 * services map them to HTTP/Feathers errors in one place (src/errors.ts).
 */
export type StorageErrorKind =
  | 'not-found'
  | 'conflict'
  | 'already-exists'
  | 'invalid'
  | 'too-large'
  | 'quota-exceeded'
  /** A batch that is no longer open (committed, aborted or expired). */
  | 'closed'
  /** An idempotency key reused for a different request. */
  | 'key-reused'
  /** The collection is locked by someone else, or a write's lock token is not the live lease's. */
  | 'locked'
  /** The change would leave a collection without an owner. */
  | 'last-owner'
  /**
   * Checked in the transaction: the actor is not a member of the collection
   * (`access.role` undefined: answered 404, as for a missing collection) or
   * their role does not allow the change (403); without `access`, a check not
   * about a role (only the invitee answers an invitation: 403).
   */
  | 'forbidden'
  | 'unavailable'
  | 'internal'

export type ConflictReason =
  /** create: a live record with this id exists. */
  | 'exists'
  /** update/patch/delete (or create over a tombstone): the base version is not the current one. */
  | 'version-mismatch'
  /** update/patch/delete: the record was deleted; `current` is its tombstone. */
  | 'deleted'
  /** update/patch/delete: no record with this id has ever existed. */
  | 'missing'

export interface RecordConflict {
  collectionId: string
  id: string
  reason: ConflictReason
  /** The server's current state of the record (a tombstone if deleted); null if none. */
  current: StoredRecord | null
}

/** A collection that changed after the position a commit was conditioned on. */
export interface StaleCollection {
  collectionId: string
  /** Its latest position now. */
  seq: number
  epoch: string
}

export class StorageError extends Error {
  readonly kind: StorageErrorKind
  readonly conflicts: RecordConflict[]
  readonly stale: StaleCollection[]
  /** For 'closed': the batch's status. */
  readonly status?: string
  /** For 'locked': the live locks in the way (none when a stale token was the problem). */
  readonly locks: StoredLock[]
  /** For 'forbidden' by role: the collection, the actor's role there (undefined: not a member) and the role needed. */
  readonly access?: { collectionId: string; role: MemberRole | undefined; needs: MemberRole }
  /** For 'quota-exceeded': when trying again may succeed (an open batch or pending invitation expires), in seconds. */
  readonly retryAfterSeconds?: number
  /**
   * What a client needs to resolve the failure, passed on as the response's
   * `data` as it is (the key conflicts of KeysPort: `{ reason, … }`).
   */
  readonly data?: { [key: string]: unknown }

  constructor(
    kind: StorageErrorKind,
    message: string,
    options: {
      cause?: unknown
      conflicts?: RecordConflict[]
      stale?: StaleCollection[]
      status?: string
      locks?: StoredLock[]
      access?: StorageError['access']
      retryAfterSeconds?: number
      data?: { [key: string]: unknown }
    } = {}
  ) {
    super(message, { cause: options.cause })
    this.name = 'StorageError'
    this.kind = kind
    this.conflicts = options.conflicts ?? []
    this.stale = options.stale ?? []
    this.status = options.status
    this.locks = options.locks ?? []
    this.access = options.access
    this.retryAfterSeconds = options.retryAfterSeconds
    this.data = options.data
  }
}

export const isStorageError = (error: unknown): error is StorageError => error instanceof StorageError

/**
 * A driver's error as a storage error of `kind`, for the backends' one
 * translation file each: the client sees only these general words, the
 * driver's message stays in `cause` for the logs.
 */
export function fromDriver(kind: StorageErrorKind, cause: unknown): StorageError {
  return new StorageError(kind, DRIVER_MESSAGES[kind], { cause })
}

const DRIVER_MESSAGES: Record<StorageErrorKind, string> = {
  'not-found': 'The item does not exist',
  conflict: 'The write conflicts with the current state',
  'already-exists': 'An item with this id already exists',
  invalid: 'The value cannot be stored',
  'too-large': 'The value is too large',
  'quota-exceeded': 'A limit was reached',
  closed: 'The batch is not open',
  'key-reused': 'The idempotency key was used for another request',
  locked: 'The collection is locked',
  'last-owner': 'A collection keeps at least one owner',
  forbidden: 'Not allowed',
  unavailable: 'The database is unavailable',
  internal: 'The database failed'
}
