import { MongoClient, MongoServerError } from 'mongodb'
import { afterAll, describe, expect, it } from 'vitest'
import type { StorageTx, Tx } from '../../../src/storage/backend.js'
import { StorageError } from '../../../src/storage/errors.js'
import { collectionsOf } from '../../../src/storage/mongodb/mongo-collections.js'
import { runTransaction } from '../../../src/storage/mongodb/transaction.js'

/**
 * The transaction runner (src/storage/mongodb/transaction.ts) on the real
 * driver's ClientSession.withTransaction, without a server: steps here yield
 * plain promises instead of driver calls, so no command is ever sent (the
 * driver commits or aborts a transaction that sent nothing without asking
 * the server). What this checks is the runner's side of the contract: results
 * fed back, a fresh `work` per retry, which errors withTransaction retries
 * and which come out, and how. The database side needs a server: the
 * conformance suite (test/helpers/mongodb.ts).
 */

const client = new MongoClient('mongodb://127.0.0.1:1/roost_unit', { serverSelectionTimeoutMS: 200 })
const c = collectionsOf(client.db())
afterAll(() => client.close())

const run = <T>(work: (tx: StorageTx) => Tx<T>): Promise<T> => runTransaction(client, c, work)

const writeConflict = () =>
  new MongoServerError({ errmsg: 'WriteConflict error: this operation conflicted with another operation', code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] })

describe('MongoDB transaction runner', () => {
  it('feeds each step the value its promise resolved to, and returns what the steps return', async () => {
    const result = await run(function* () {
      const a = (yield Promise.resolve(20)) as number
      const b = (yield Promise.resolve(22)) as number
      return a + b
    })
    expect(result).toBe(42)
  })

  it('runs a fresh `work` after a transient driver error (a write conflict), as withTransaction retries it', async () => {
    let attempts = 0
    const result = await run(function* () {
      attempts++
      const value = (yield Promise.resolve('ok')) as string
      if (attempts < 3) yield Promise.reject(writeConflict())
      return value
    })
    expect(result).toBe('ok')
    expect(attempts).toBe(3)
  })

  it('translates a driver error that is not transient once, outside: a duplicate key is already-exists', async () => {
    let attempts = 0
    const duplicate = new MongoServerError({ errmsg: 'E11000 duplicate key error collection: roost.users index: email_1', code: 11000, codeName: 'DuplicateKey' })
    const error = await run(function* () {
      attempts++
      yield Promise.reject(duplicate)
    }).catch((thrown: unknown) => thrown)
    expect(attempts).toBe(1)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).kind).toBe('already-exists')
    expect((error as StorageError).cause).toBe(duplicate)
    expect((error as StorageError).message).not.toContain('E11000')
  })

  it('does not resume the steps after a driver error (MongoDB has aborted the transaction)', async () => {
    let resumed = false
    await run(function* () {
      try {
        yield Promise.reject(new MongoServerError({ errmsg: 'E11000 duplicate key', code: 11000 }))
      } catch {
        resumed = true
      }
    }).catch(() => undefined)
    expect(resumed).toBe(false)
  })

  it('passes what the steps throw out unchanged, without retrying', async () => {
    let attempts = 0
    const ruleError = new StorageError('conflict', '1 of 1 writes conflict')
    class Replay extends Error {}
    const replay = new Replay('replayed')
    await expect(
      run(function* () {
        attempts++
        yield Promise.resolve()
        throw ruleError
      })
    ).rejects.toBe(ruleError)
    await expect(
      run(function* () {
        yield Promise.resolve()
        throw replay
      })
    ).rejects.toBe(replay)
    expect(attempts).toBe(1)
  })

  it('translates a rejection that is not a MongoError (it cannot be retried) into internal', async () => {
    const error = await run(function* () {
      yield Promise.reject(new TypeError('driver bug'))
    }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).kind).toBe('internal')
  })
})
