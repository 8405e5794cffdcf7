import { setTimeout as sleep } from 'node:timers/promises'
import { MongoError, type MongoClient, type TransactionOptions } from 'mongodb'
import type { StorageTx, Tx } from '../backend.js'
import type { MongoCollections } from './mongo-collections.js'
import { translateDriverError } from './errors.js'
import { mongoTx } from './tx/index.js'

/**
 * Snapshot reads, majority commits, at the primary: what the reasoning on
 * takeCollection (tx/collections.ts) and PROTOCOL.md assume. Snapshot
 * isolation with a majority commit is what MongoDB's documentation promises
 * for read concern "snapshot".
 */
const OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary'
}

/**
 * Runs `work` in one MongoDB transaction (Backend.transaction).
 *
 * `session.withTransaction` commits when the callback resolves and aborts
 * when it rejects. It runs the callback again, from the start, when the
 * failure is a MongoError labelled TransientTransactionError (a WriteConflict
 * with another transaction that took the same document, a lost connection,
 * a failover), and retries the commit alone on UnknownTransactionCommitResult,
 * for up to 120 seconds. So each attempt calls `work` afresh (its generator
 * cannot be rewound), and driver errors must reach withTransaction as the
 * driver threw them, or it could not see their labels: they are translated
 * into StorageErrors only here, after withTransaction gave up.
 *
 * What the steps throw themselves (a StorageError, the rules' Replay) is not
 * a MongoError: withTransaction aborts the transaction and passes it on as
 * it is, and so does this function.
 */
export async function runTransaction<T>(client: MongoClient, c: MongoCollections, work: (tx: StorageTx) => Tx<T>): Promise<T> {
  const session = client.startSession()
  let attempt = 0
  try {
    return await session.withTransaction(async () => {
      // withTransaction retries at once; a short random pause first lets the transaction that won a conflict commit.
      if (attempt++ > 0) await sleep(Math.random() * 5 * Math.min(attempt, 10))
      return runSteps(work(mongoTx({ c, session })))
    }, OPTIONS)
  } catch (error) {
    throw error instanceof MongoError ? translateDriverError(error) : error
  } finally {
    await session.endSession()
  }
}

/**
 * Drives the steps: each yields a driver promise, and is resumed with what
 * it resolved to. When a promise rejects, the steps are not resumed: a
 * failed command (a duplicate key too) has already aborted the transaction
 * on the server, so a rule that caught the error could not go on in it (and
 * the next command would fail as NoSuchTransaction, labelled transient, and
 * withTransaction would retry the same failure for 120 s: MongoDB's
 * convenient-transaction spec forbids callbacks that swallow command
 * errors). The error ends this attempt. A MongoError goes out as it is (for
 * withTransaction, above); anything else a driver call rejects with cannot
 * be retried, and is translated here.
 */
async function runSteps<T>(steps: Tx<T>): Promise<T> {
  let next = steps.next()
  while (next.done !== true) {
    let value: unknown
    try {
      value = await next.value
    } catch (error) {
      throw error instanceof MongoError ? error : translateDriverError(error)
    }
    next = steps.next(value)
  }
  return next.value
}
