import type { Tx, UsersTx } from '../../backend.js'
import type { StoredUser } from '../../types.js'
import { userFromDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const usersTx = ({ c, session }: TxContext): UsersTx => ({
  /** As takeCollection (./collections.ts): a write to the user's document, so two transactions taking one user conflict. */
  *takeUser(userId): Tx<boolean> {
    const result = yield* step(c.users.updateOne({ _id: userId }, { $inc: { takes: 1 } }, { session }))
    return result.matchedCount === 1
  },

  *getUser(userId): Tx<StoredUser | undefined> {
    const doc = yield* step(c.users.findOne({ _id: userId }, { session }))
    return doc === null ? undefined : userFromDocument(doc)
  }
})
