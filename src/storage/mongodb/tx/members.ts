import type { MembersTx, Tx } from '../../backend.js'
import type { MemberRole, StoredMember } from '../../types.js'
import { memberFromDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const membersTx = ({ c, session }: TxContext): MembersTx => ({
  *getMember(collectionId, userId): Tx<StoredMember | undefined> {
    const doc = yield* step(c.members.findOne({ collectionId, userId }, { session }))
    if (doc === null) return undefined
    // The e-mail is the user's, as SQL joins it in.
    const user = yield* step(c.users.findOne({ _id: userId }, { session, projection: { email: 1 } }))
    return user === null ? undefined : memberFromDocument(doc, user.email)
  },

  *ownerIds(collectionId): Tx<string[]> {
    const docs = yield* step(c.members.find({ collectionId, role: 'owner' }, { session, projection: { userId: 1 }, sort: { userId: 1 } }).toArray())
    return docs.map((doc) => doc.userId)
  },

  *memberRoles(collectionId): Tx<Array<{ userId: string; role: MemberRole }>> {
    const docs = yield* step(c.members.find({ collectionId }, { session, sort: { userId: 1 } }).toArray())
    return docs.map((doc) => ({ userId: doc.userId, role: doc.role }))
  },

  *countOwned(userId): Tx<number> {
    return yield* step(c.members.countDocuments({ userId, role: 'owner' }, { session }))
  },

  *insertMember({ collectionId, userId, role, at }): Tx<void> {
    yield* step(c.members.insertOne({ collectionId, userId, role, createdAt: at, updatedAt: at }, { session }))
  },

  *setMemberRole(collectionId, userId, role, at): Tx<void> {
    yield* step(c.members.updateOne({ collectionId, userId }, { $set: { role, updatedAt: at } }, { session }))
  },

  *deleteMember(collectionId, userId): Tx<void> {
    yield* step(c.members.deleteOne({ collectionId, userId }, { session }))
  }
})
