import type { StorageTx, TakenCollection, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { InvitationAnswer, InvitationQuota, NewInvitation, StoredInvitation } from '../types.js'
import { requireMayManage } from './authorize.js'
import { addInvitationKeys } from './keys.js'
import { setMembership } from './members.js'

/**
 * Invitations (SharingPort). Each change takes the invitation's collection
 * first and reads the invitation after, so of two answers, or an answer and
 * a revocation, exactly one finds it pending; and the inviter's, revoker's
 * or invitee's right is checked against the roles as they are then.
 */

export function* createInvitation(tx: StorageTx, invitation: NewInvitation, at: string, quota: InvitationQuota | undefined): Tx<StoredInvitation> {
  const taken = yield* take(tx, invitation.collectionId, invitation.invitedBy)
  requireMayManage(taken, undefined, invitation.role)
  // Keys are wrapped for one public key: an invitation by address has none to wrap for.
  if (invitation.keys !== null && invitation.keys.length > 0 && invitation.inviteeUserId === null) {
    throw new StorageError('invalid', 'Only an invitation by user id carries keys')
  }
  if (quota !== undefined) {
    const pending = yield* tx.pendingInvitationStats(invitation.collectionId, at)
    if (pending.count >= quota.maxPendingPerCollection) {
      const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(pending.firstExpiry ?? at) - Date.parse(at)) / 1000))
      throw new StorageError(
        'quota-exceeded',
        `Collection ${invitation.collectionId} has ${pending.count} pending invitations; the limit is ${quota.maxPendingPerCollection} (quotas.pendingInvitationsPerCollection)`,
        { retryAfterSeconds }
      )
    }
  }
  if (invitation.inviteeUserId !== null && (yield* tx.getUser(invitation.inviteeUserId)) === undefined) {
    throw new StorageError('not-found', `User ${invitation.inviteeUserId} does not exist`)
  }
  yield* tx.insertInvitation(invitation, at)
  return (yield* tx.getInvitation(invitation.id, at))!
}

/**
 * Only the invitee answers: the user it names, or for an invitation by
 * e-mail, the user with that address (who becomes its invitee). Accepting
 * closes it first, then sets the membership, which revokes the user's other
 * pending invitations to the collection, then adds the keys it carries
 * (rules/keys.ts, addInvitationKeys).
 */
export function* answerInvitation(tx: StorageTx, params: { id: string; answer: 'accepted' | 'declined'; userId: string; at: string }): Tx<InvitationAnswer> {
  const { id, answer, userId, at } = params
  const { invitation } = yield* takeInvitation(tx, id, undefined, at)
  const user = yield* tx.getUser(userId)
  const isInvitee = invitation.inviteeUserId === userId || (invitation.inviteeUserId === null && user !== undefined && invitation.inviteeEmail === user.email)
  if (!isInvitee) throw new StorageError('forbidden', 'Only the invitee answers an invitation')
  assertPending(invitation)
  yield* tx.closeInvitations([id], { status: answer, at, inviteeUserId: userId })
  const change = answer === 'accepted' ? yield* setMembership(tx, { collectionId: invitation.collectionId, userId, role: invitation.role, at }) : undefined
  if (answer === 'accepted') yield* addInvitationKeys(tx, invitation, userId, at)
  return { invitation: (yield* tx.getInvitation(id, at))!, change }
}

/** Managers revoke what they could have given (an admin not an invitation to be an owner). */
export function* revokeInvitation(tx: StorageTx, params: { id: string; actorId: string; at: string }): Tx<StoredInvitation> {
  const { invitation, taken } = yield* takeInvitation(tx, params.id, params.actorId, params.at)
  requireMayManage(taken, undefined, invitation.role)
  assertPending(invitation)
  yield* tx.closeInvitations([params.id], { status: 'revoked', at: params.at })
  return (yield* tx.getInvitation(params.id, params.at))!
}

/** Takes the invitation's collection, then reads the invitation again as it is now. */
function* takeInvitation(tx: StorageTx, id: string, actorId: string | undefined, at: string): Tx<{ invitation: StoredInvitation; taken: TakenCollection }> {
  const first = yield* tx.getInvitation(id, at)
  if (first === undefined) throw new StorageError('not-found', `Invitation ${id} does not exist`)
  const taken = yield* take(tx, first.collectionId, actorId)
  const invitation = yield* tx.getInvitation(id, at)
  if (invitation === undefined) throw new StorageError('not-found', `Invitation ${id} does not exist`)
  return { invitation, taken }
}

function* take(tx: StorageTx, collectionId: string, actorId: string | undefined): Tx<TakenCollection> {
  const taken = yield* tx.takeCollection(collectionId, actorId === undefined ? {} : { roleOf: actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  return taken
}

function assertPending(invitation: StoredInvitation): void {
  if (invitation.status !== 'pending') {
    throw new StorageError('closed', `Invitation ${invitation.id} is ${invitation.status}`, { status: invitation.status })
  }
}
