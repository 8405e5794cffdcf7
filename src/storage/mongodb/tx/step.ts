import type { ClientSession } from 'mongodb'
import type { Tx } from '../../backend.js'
import type { MongoCollections } from '../mongo-collections.js'

/** What every StorageTx method works with: the collections and the transaction's session, passed to every driver call. */
export interface TxContext {
  c: MongoCollections
  session: ClientSession
}

/**
 * One driver call as a step: yields its promise to the transaction runner
 * (../transaction.ts), which awaits it and resumes the step with the result.
 */
export function* step<T>(promise: Promise<T>): Tx<T> {
  return (yield promise) as T
}
