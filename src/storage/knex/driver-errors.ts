import { setTimeout as sleep } from 'node:timers/promises'
import { fromDriver, StorageError, type StorageErrorKind } from '../errors.js'
import { ThrownByStep } from './statements.js'

/**
 * The one place where SQLite and PostgreSQL driver errors become storage
 * errors. The driver's message stays in `cause` for the logs; it is never the
 * message a client sees.
 */
interface DriverError {
  code?: string
  name?: string
  message?: string
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

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])

/**
 * pg reports a lost connection with plain Errors that carry no code (the
 * server restarted, or pg_terminate_backend ended the session, between or
 * during queries); knex says the same of a connection it found dead. Matched
 * on their text, as their code would be matched: they are "unavailable", not
 * bugs. (Seen under a PostgreSQL restart: "Connection terminated
 * unexpectedly", then "Client has encountered a connection error and is not
 * queryable" on the clients the pool still held.)
 */
const CONNECTION_LOST = [
  /^Connection terminated/, // pg: "… unexpectedly", "… due to connection timeout", or while ending
  /is not queryable$/, // pg: "Client has encountered a connection error …", "Client was closed …"
  /^Connection ended unexpectedly/, // knex: a disposed connection
  /^timeout expired$|^timeout exceeded when trying to connect/i, // pg connect timeouts
  /^Query read timeout$/ // pg query_timeout
]

export function translateDriverError(error: unknown): StorageError {
  if (error instanceof StorageError) return error
  return fromDriver(kindOf(error), error)
}

function kindOf(error: unknown): StorageErrorKind {
  const { code, name, message } = (typeof error === 'object' && error !== null ? error : {}) as DriverError
  if (typeof code === 'string') {
    const known = POSTGRES[code] ?? SQLITE[code]
    if (known !== undefined) return known
    // SQLite's extended codes of a busy, locked, read-only, full or failing database file.
    if (/^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code)) return 'unavailable'
    // Class 08: connection exceptions; 57P02 crash_shutdown, 57P05 idle session timeout.
    if (NETWORK.has(code) || code.startsWith('08') || code === '57P02' || code === '57P05') return 'unavailable'
  }
  if (name === 'KnexTimeoutError') return 'unavailable'
  if (typeof message === 'string' && code === undefined && CONNECTION_LOST.some((pattern) => pattern.test(message))) return 'unavailable'
  return 'internal'
}

/**
 * Failures worth retrying the whole transaction for at once. Not SQLite's
 * plain SQLITE_BUSY: it comes after the connection's busy timeout (5 s) was
 * spent waiting, synchronously, for another process's lock, and retrying
 * would block the event loop for as long again, several times; it is
 * answered 503 instead. SQLITE_BUSY_SNAPSHOT (a read turned write on a
 * snapshot that is no longer the latest) comes at once and passes on a retry.
 */
export function isRetryable(error: unknown): boolean {
  const code = (error as DriverError | null)?.code
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY_SNAPSHOT'
}

const MAX_TRANSACTION_ATTEMPTS = 5

/**
 * Runs database work and translates what the driver (or knex's pool) threw.
 * What a transaction's step threw (statements.ts, ThrownByStep: a rule's
 * StorageError or Replay, or a bug) comes out as it is.
 */
export async function translating<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof ThrownByStep) throw error.error
    throw translateDriverError(error)
  }
}

/**
 * As `translating`, and runs `attempt` again (up to 5 times in all, each
 * time from the start: a fresh transaction) when the driver's failure is
 * retryable (isRetryable).
 */
export async function retrying<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      if (error instanceof ThrownByStep) throw error.error
      if (isRetryable(error) && n < MAX_TRANSACTION_ATTEMPTS) {
        await sleep(Math.random() * 10 * n)
        continue
      }
      throw translateDriverError(error)
    }
  }
}
