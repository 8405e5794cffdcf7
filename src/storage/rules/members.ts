import type { StorageTx, TakenCollection, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { PutMemberParams } from '../port.js'
import type { MemberChange, MemberRemoval, MemberRole, StoredInvitation, StoredMember } from '../types.js'
import { requireMayManage } from './authorize.js'

/**
 * Membership changes (SharingPort). Each takes the collection first, then
 * checks the actor's role and the target's as they are now, so two managers
 * racing (an admin demoting a writer whom an owner is making an owner, two
 * admins removing each other) are decided in order, each against what the
 * other did. A collection always keeps an owner.
 */

export function* putMember(tx: StorageTx, params: PutMemberParams): Tx<MemberChange> {
  const { collectionId, userId, role, at, actorId, onlyIf } = params
  const taken = yield* takeOrFail(tx, collectionId, actorId)
  const existing = yield* tx.getMember(collectionId, userId)
  if (existing !== undefined && onlyIf === 'new') throw new StorageError('already-exists', `User ${userId} is already a member`)
  if (existing === undefined && onlyIf === 'existing') throw new StorageError('not-found', `User ${userId} is not a member`)
  requireMayManage(taken, existing?.role, role)
  return yield* setMembership(tx, { collectionId, userId, role, at }, existing ?? null)
}

/**
 * Adds the member or changes their role, with no check of who asks (an
 * accepted invitation, or putMember once it checked): the collection must
 * already be taken.
 */
export function* setMembership(
  tx: StorageTx,
  { collectionId, userId, role, at }: { collectionId: string; userId: string; role: MemberRole; at: string },
  /** The member as the caller just read them in this transaction (null: not a member); read here when not given. */
  known?: StoredMember | null
): Tx<MemberChange> {
  const existing = known === undefined ? yield* tx.getMember(collectionId, userId) : (known ?? undefined)
  const user = yield* tx.getUser(userId)
  if (user === undefined) throw new StorageError('not-found', `User ${userId} does not exist`)
  if (existing === undefined) {
    yield* tx.insertMember({ collectionId, userId, role, at })
  } else if (existing.role !== role) {
    if (existing.role === 'owner') yield* assertNotLastOwner(tx, collectionId, userId)
    yield* tx.setMemberRole(collectionId, userId, role, at)
  }
  // A reader may not write, so an exclusive lease (which keeps writers out) ends with the demotion.
  const demoted = role === 'reader' && existing !== undefined && existing.role !== 'reader'
  const locks = demoted ? yield* tx.deleteLeases(collectionId, { userId, mode: 'exclusive' }) : []
  const revokedInvitations = yield* supersedeInvitations(tx, collectionId, { userId, email: user.email }, at)
  const member = (yield* tx.getMember(collectionId, userId))!
  return { member, previousRole: existing?.role, locks, revokedInvitations }
}

/** Leaving (the actor removes themselves) needs no role; removing someone else needs mayManageMember. */
export function* removeMember(tx: StorageTx, params: { collectionId: string; userId: string; actorId: string; at: string }): Tx<MemberRemoval> {
  const { collectionId, userId, actorId, at } = params
  const taken = yield* takeOrFail(tx, collectionId, actorId)
  const member = yield* tx.getMember(collectionId, userId)
  if (actorId !== userId) requireMayManage(taken, member?.role, undefined)
  if (member === undefined) throw new StorageError('not-found', `User ${userId} is not a member`)
  if (member.role === 'owner') yield* assertNotLastOwner(tx, collectionId, userId)
  yield* tx.deleteMember(collectionId, userId)
  const locks = yield* tx.deleteLeases(collectionId, { userId })
  const revokedInvitations = yield* supersedeInvitations(tx, collectionId, { userId, email: member.email }, at)
  // What they can no longer be given they need not keep: their wrapped keys (the collection's next epoch leaves them out).
  yield* tx.deleteUserCollectionKeys(collectionId, userId)
  // Their open batches that staged something here could only fail at commit now: end them (as abortBatch does).
  const abortedBatches = yield* tx.openBatchesTouching(userId, collectionId)
  for (const id of abortedBatches) yield* tx.updateBatch(id, { status: 'aborted' })
  if (abortedBatches.length > 0) yield* tx.deleteOperations(abortedBatches)
  return { member, locks, abortedBatches, revokedInvitations }
}

function* takeOrFail(tx: StorageTx, collectionId: string, actorId: string): Tx<TakenCollection> {
  const taken = yield* tx.takeCollection(collectionId, { roleOf: actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  return taken
}

function* assertNotLastOwner(tx: StorageTx, collectionId: string, userId: string): Tx<void> {
  const owners = yield* tx.ownerIds(collectionId)
  if (owners.length === 1 && owners[0] === userId) {
    throw new StorageError('last-owner', 'A collection keeps at least one owner: make someone else an owner first')
  }
}

/**
 * A user's pending invitations to a collection whose membership was just set
 * are revoked: accepting one later would otherwise undo that change (a
 * demoted member accepting an older invitation as admin). Expired ones too,
 * and nobody is told of those.
 */
function* supersedeInvitations(tx: StorageTx, collectionId: string, invitee: { userId: string; email: string }, at: string): Tx<StoredInvitation[]> {
  const ids = [...(yield* tx.pendingInvitationIds(collectionId, invitee))].sort()
  if (ids.length === 0) return []
  yield* tx.closeInvitations(ids, { status: 'revoked', at })
  const revoked: StoredInvitation[] = []
  for (const id of ids) {
    const invitation = yield* tx.getInvitation(id, at)
    if (invitation !== undefined) revoked.push(invitation)
  }
  return revoked
}
