import { StorageError, type StorageErrorKind } from '../errors.js'

/**
 * The one place where SQLite and PostgreSQL driver errors become storage
 * errors. The driver's message stays in `cause` for the logs; it is never the
 * message a client sees.
 */
interface DriverError {
  code?: string
  name?: string
}

const POSTGRES: Record<string, StorageErrorKind> = {
  '23505': 'already-exists', // unique_violation
  '23503': 'not-found', // foreign_key_violation: the parent row is gone
  '22001': 'invalid', // string_data_right_truncation
  '22P02': 'invalid', // invalid_text_representation
  '40001': 'unavailable', // serialization_failure
  '40P01': 'unavailable', // deadlock_detected
  '53300': 'unavailable', // too_many_connections
  '57P01': 'unavailable', // admin_shutdown
  '57P03': 'unavailable' // cannot_connect_now
}

const SQLITE: Record<string, StorageErrorKind> = {
  SQLITE_CONSTRAINT_PRIMARYKEY: 'already-exists',
  SQLITE_CONSTRAINT_UNIQUE: 'already-exists',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'not-found',
  SQLITE_BUSY: 'unavailable',
  SQLITE_LOCKED: 'unavailable',
  SQLITE_FULL: 'unavailable',
  SQLITE_READONLY: 'unavailable'
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'])

export function translateDriverError(error: unknown): StorageError {
  if (error instanceof StorageError) return error
  const { code, name } = (typeof error === 'object' && error !== null ? error : {}) as DriverError
  const kind: StorageErrorKind =
    (code !== undefined && (POSTGRES[code] ?? SQLITE[code])) ||
    (code !== undefined && (NETWORK.has(code) || code.startsWith('08')) ? 'unavailable' : undefined) ||
    (name === 'KnexTimeoutError' ? 'unavailable' : 'internal')
  return new StorageError(kind, MESSAGES[kind], { cause: error })
}

/** Failures worth retrying the whole transaction for. */
export function isRetryable(error: unknown): boolean {
  const code = (error as DriverError | null)?.code
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY'
}

const MESSAGES: Record<StorageErrorKind, string> = {
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
