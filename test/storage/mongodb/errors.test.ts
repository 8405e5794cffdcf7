import { MongoClient, MongoError, MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError } from 'mongodb'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/storage/errors.js'
import { translateDriverError } from '../../../src/storage/mongodb/errors.js'

/**
 * MongoDB driver errors → StorageError kinds (src/storage/mongodb/errors.ts),
 * with errors of the driver's own classes: server errors built as the driver
 * builds them from a server reply, and a server-selection failure produced
 * by the driver itself against a port nothing listens on.
 */

const serverError = (reply: { errmsg: string; code: number; codeName?: string; errorLabels?: string[] }) => new MongoServerError(reply)

describe('MongoDB driver error translation', () => {
  it('a duplicate key is already-exists, with the driver text kept in cause only', () => {
    const driver = serverError({ errmsg: 'E11000 duplicate key error collection: roost.users index: email_1 dup key: { email: "a@b.c" }', code: 11000, codeName: 'DuplicateKey' })
    const error = translateDriverError(driver)
    expect(error).toBeInstanceOf(StorageError)
    expect(error.kind).toBe('already-exists')
    expect(error.cause).toBe(driver)
    expect(error.message).not.toMatch(/E11000|a@b\.c|email_1/)
  })

  it('a duplicate key stays already-exists even if it came labelled', () => {
    expect(translateDriverError(serverError({ errmsg: 'E11000', code: 11000, errorLabels: ['RetryableWriteError'] })).kind).toBe('already-exists')
  })

  it('a write conflict that withTransaction stopped retrying is unavailable', () => {
    const conflict = serverError({ errmsg: 'WriteConflict error', code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] })
    expect(translateDriverError(conflict).kind).toBe('unavailable')
  })

  it('transient and unknown-commit labels are unavailable, whatever the code', () => {
    expect(translateDriverError(serverError({ errmsg: 'x', code: 999999, errorLabels: ['TransientTransactionError'] })).kind).toBe('unavailable')
    expect(translateDriverError(serverError({ errmsg: 'x', code: 999999, errorLabels: ['UnknownTransactionCommitResult'] })).kind).toBe('unavailable')
    const labelled = new MongoError('lost')
    labelled.addErrorLabel('TransientTransactionError')
    expect(translateDriverError(labelled).kind).toBe('unavailable')
  })

  it('a primary stepping down or shutting down is unavailable', () => {
    expect(translateDriverError(serverError({ errmsg: 'not primary', code: 10107, codeName: 'NotWritablePrimary' })).kind).toBe('unavailable')
    expect(translateDriverError(serverError({ errmsg: 'shutting down', code: 91, codeName: 'ShutdownInProgress' })).kind).toBe('unavailable')
  })

  it('network errors are unavailable', () => {
    expect(translateDriverError(new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')).kind).toBe('unavailable')
    expect(translateDriverError(new MongoNetworkTimeoutError('connection timed out')).kind).toBe('unavailable')
  })

  it('no reachable server (the driver failing to select one) is unavailable', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/roost_unit', { serverSelectionTimeoutMS: 200 })
    const thrown = await client.connect().then(
      () => undefined,
      (error: unknown) => error
    )
    await client.close()
    expect(thrown).toBeInstanceOf(MongoServerSelectionError)
    const error = translateDriverError(thrown)
    expect(error.kind).toBe('unavailable')
    expect(error.message).not.toContain('127.0.0.1')
  })

  it('a document over 16 MiB is invalid', () => {
    expect(translateDriverError(serverError({ errmsg: 'object to insert too large', code: 10334, codeName: 'BSONObjectTooLarge' })).kind).toBe('invalid')
  })

  it('any other server error, and anything not from the driver, is internal', () => {
    expect(translateDriverError(serverError({ errmsg: 'unknown operator: $foo', code: 2, codeName: 'BadValue' })).kind).toBe('internal')
    expect(translateDriverError(new TypeError('x is undefined')).kind).toBe('internal')
    expect(translateDriverError('a string').kind).toBe('internal')
  })

  it('a StorageError passes through unchanged', () => {
    const storageError = new StorageError('conflict', 'no')
    expect(translateDriverError(storageError)).toBe(storageError)
  })
})
