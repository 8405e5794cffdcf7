import type { KeysTx, StoredKey, Tx } from '../../backend.js'
import type { JsonValue } from '../../types.js'
import { step, type TxContext } from './step.js'

export const keysTx = ({ c, session }: TxContext): KeysTx => ({
  *getKey(userId, key): Tx<StoredKey | undefined> {
    const doc = yield* step(c.keys.findOne({ userId, key }, { session }))
    return doc === null ? undefined : { fingerprint: doc.fingerprint, response: JSON.parse(doc.response) as JsonValue, expiresAt: doc.expiresAt }
  },

  *putKey(scope, response, at): Tx<void> {
    const doc = {
      userId: scope.userId,
      key: scope.key,
      fingerprint: scope.fingerprint,
      response: JSON.stringify(response),
      createdAt: at,
      expiresAt: scope.expiresAt
    }
    yield* step(c.keys.replaceOne({ userId: scope.userId, key: scope.key }, doc, { session, upsert: true }))
  }
})
