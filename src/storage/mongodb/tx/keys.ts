import type { KeysTx, StoredKey, Tx } from '../../backend.js'
import type { IdempotencyScope, JsonValue } from '../../types.js'
import type { KeyDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const keysTx = ({ c, session }: TxContext): KeysTx => {
  /** Replaces the key of the same name (or inserts it). */
  function* put(doc: KeyDocument): Tx<void> {
    yield* step(c.keys.replaceOne({ userId: doc.userId, key: doc.key }, doc, { session, upsert: true }))
  }

  return {
    *getKey(userId, key): Tx<StoredKey | undefined> {
      const doc = yield* step(c.keys.findOne({ userId, key }, { session }))
      if (doc === null) return undefined
      const { claimToken, pendingUntil } = doc
      return {
        fingerprint: doc.fingerprint,
        response: doc.response === null ? null : (JSON.parse(doc.response) as JsonValue),
        expiresAt: doc.expiresAt,
        ...(typeof claimToken === 'string' && typeof pendingUntil === 'string' ? { claim: { token: claimToken, pendingUntil } } : {})
      }
    },

    *putKey(scope, response, at): Tx<void> {
      yield* put({ ...identity(scope, at), response: JSON.stringify(response), claimToken: null, pendingUntil: null })
    },

    *putPendingKey(scope, claim, at): Tx<void> {
      yield* put({ ...identity(scope, at), response: null, claimToken: claim.token, pendingUntil: claim.pendingUntil })
    },

    *deleteKey(userId, key): Tx<void> {
      yield* step(c.keys.deleteOne({ userId, key }, { session }))
    }
  }
}

const identity = (scope: IdempotencyScope, at: string) => ({
  userId: scope.userId,
  key: scope.key,
  fingerprint: scope.fingerprint,
  createdAt: at,
  expiresAt: scope.expiresAt
})
