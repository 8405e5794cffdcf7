import type { InvitationsTx, Tx } from '../../backend.js'
import { invitationKeysOf, invitationKeysText } from '../../invitation-keys.js'
import type { InvitationKey, StoredInvitation } from '../../types.js'
import { invitationFromDocument, type InvitationDocument } from '../documents.js'
import { step, type TxContext } from './step.js'

export const invitationsTx = ({ c, session }: TxContext): InvitationsTx => ({
  *getInvitation(id, now): Tx<StoredInvitation | undefined> {
    const doc = yield* step(c.invitations.findOne({ _id: id }, { session }))
    if (doc === null) return undefined
    // The collection's name now, which an invitee may not otherwise see before accepting.
    const collection = yield* step(c.collections.findOne({ _id: doc.collectionId }, { session, projection: { name: 1 } }))
    return invitationFromDocument(doc, collection?.name ?? null, now)
  },

  *insertInvitation(invitation, at): Tx<void> {
    const doc: InvitationDocument = {
      _id: invitation.id,
      collectionId: invitation.collectionId,
      role: invitation.role,
      inviteeUserId: invitation.inviteeUserId,
      inviteeEmail: invitation.inviteeEmail,
      invitedBy: invitation.invitedBy,
      status: 'pending',
      createdAt: at,
      expiresAt: invitation.expiresAt,
      answeredAt: null,
      keys: invitationKeysText(invitation.keys)
    }
    yield* step(c.invitations.insertOne(doc, { session }))
  },

  *invitationKeys(id): Tx<InvitationKey[]> {
    const doc = yield* step(c.invitations.findOne({ _id: id }, { session, projection: { keys: 1 } }))
    return invitationKeysOf(doc?.keys)
  },

  /** Pending by status, expired or not; addressed to the user by id, or by e-mail when no user id was given. */
  *pendingInvitationIds(collectionId, invitee): Tx<string[]> {
    const filter = {
      collectionId,
      status: 'pending' as const,
      $or: [{ inviteeUserId: invitee.userId }, { inviteeUserId: null, inviteeEmail: invitee.email }]
    }
    const docs = yield* step(c.invitations.find(filter, { session, projection: { _id: 1 }, sort: { _id: 1 } }).toArray())
    return docs.map((doc) => doc._id)
  },

  *pendingInvitationStats(collectionId, now): Tx<{ count: number; firstExpiry: string | null }> {
    const [stats] = yield* step(
      c.invitations
        .aggregate<{ count: number; firstExpiry: string }>(
          [
            { $match: { collectionId, status: 'pending', expiresAt: { $gt: now } } },
            { $group: { _id: null, count: { $sum: 1 }, firstExpiry: { $min: '$expiresAt' } } }
          ],
          { session }
        )
        .toArray()
    )
    return stats === undefined ? { count: 0, firstExpiry: null } : { count: stats.count, firstExpiry: stats.firstExpiry }
  },

  *closeInvitations(ids, change): Tx<void> {
    if (ids.length === 0) return
    const set: Partial<InvitationDocument> = { status: change.status, answeredAt: change.at }
    if (change.inviteeUserId !== undefined) set.inviteeUserId = change.inviteeUserId
    yield* step(c.invitations.updateMany({ _id: { $in: ids } }, { $set: set }, { session }))
  }
})
