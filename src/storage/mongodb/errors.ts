import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError
} from 'mongodb'
import { fromDriver, StorageError, type StorageErrorKind } from '../errors.js'

/**
 * The one place where MongoDB driver errors become storage errors. The
 * driver's message stays in `cause` for the logs; it is never the message a
 * client sees.
 */

/** Server error codes (https://www.mongodb.com/docs/manual/reference/error-codes/) with a kind of their own. */
const CODES: Record<number, StorageErrorKind> = {
  11000: 'already-exists', // DuplicateKey: a unique index (indexes.ts) refused the write
  10334: 'invalid', // BSONObjectTooLarge: a document over 16 MiB
  17419: 'invalid', // an update would make a document over 16 MiB
  112: 'unavailable', // WriteConflict, once withTransaction stopped retrying it
  251: 'unavailable', // NoSuchTransaction: the transaction was aborted under us (failover, timeout)
  239: 'unavailable', // SnapshotTooOld: a snapshot read (the feed) outlived the server's snapshot history
  246: 'unavailable', // SnapshotUnavailable
  91: 'unavailable', // ShutdownInProgress
  189: 'unavailable', // PrimarySteppedDown
  10107: 'unavailable', // NotWritablePrimary
  11600: 'unavailable', // InterruptedAtShutdown
  11602: 'unavailable', // InterruptedDueToReplStateChange
  13435: 'unavailable', // NotPrimaryNoSecondaryOk
  13436: 'unavailable' // NotPrimaryOrSecondary
}

/**
 * Labels the server or the driver puts on failures that a later attempt may
 * not meet: withTransaction retries these for up to 120 s, and what is still
 * failing after that is the database being unavailable.
 */
const TRANSIENT_LABELS = ['TransientTransactionError', 'UnknownTransactionCommitResult', 'RetryableWriteError']

/** The driver's own classes for "no usable connection to the server". */
const UNREACHABLE = [
  MongoNetworkError, // includes timeouts and cleared pools
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoClientClosedError,
  MongoServerClosedError,
  MongoNotConnectedError,
  MongoOperationTimeoutError
]

export function translateDriverError(error: unknown): StorageError {
  if (error instanceof StorageError) return error
  const kind = kindOf(error)
  return fromDriver(kind, error)
}

function kindOf(error: unknown): StorageErrorKind {
  if (!(error instanceof MongoError)) return 'internal'
  // The code first: a duplicate key inside a transaction is an answer, not a transient failure.
  if (error instanceof MongoServerError && typeof error.code === 'number' && CODES[error.code] !== undefined) return CODES[error.code]
  if (TRANSIENT_LABELS.some((label) => error.hasErrorLabel(label))) return 'unavailable'
  if (UNREACHABLE.some((type) => error instanceof type)) return 'unavailable'
  return 'internal'
}
