import type { Knex } from 'knex'
import { StorageError } from '../errors.js'
import type {
  CollectionQuota,
  InvitationAnswer,
  InvitationQuota,
  InvitationStatus,
  ListInvitationsParams,
  MemberChange,
  MemberRemoval,
  MemberRole,
  NewInvitation,
  Page,
  StoredInvitation,
  StoredMember
} from '../types.js'
import { releaseLocksOf } from './locks.js'

/** Members and invitations (see Storage, "Sharing"). Cold paths: knex's builder, inside KnexStorage's transactions. */

export interface MemberRow {
  collection_id: string
  user_id: string
  role: string
  created_at: string
  updated_at: string
}

interface MemberWithEmailRow extends MemberRow {
  email: string
}

export interface InvitationRow {
  id: string
  collection_id: string
  role: string
  invitee_user_id: string | null
  invitee_email: string | null
  invited_by: string
  status: string
  created_at: string
  expires_at: string
  answered_at: string | null
  /** Read with the invitation (see withCollectionName), not a column of it. */
  collection_name?: string | null
}

const memberFromRow = (row: MemberWithEmailRow): StoredMember => ({
  collectionId: row.collection_id,
  userId: row.user_id,
  email: row.email,
  role: row.role as MemberRole,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

export const invitationFromRow = (row: InvitationRow, now: string): StoredInvitation => ({
  id: row.id,
  collectionId: row.collection_id,
  collectionName: row.collection_name ?? null,
  role: row.role as MemberRole,
  inviteeUserId: row.invitee_user_id,
  inviteeEmail: row.invitee_email,
  invitedBy: row.invited_by,
  status: row.status === 'pending' && row.expires_at <= now ? 'expired' : (row.status as InvitationStatus),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  answeredAt: row.answered_at
})

const membersWithEmail = (db: Knex | Knex.Transaction) =>
  db<MemberWithEmailRow>('members').join('users', 'users.id', 'members.user_id').select('members.*', 'users.email')

export async function listMembers(db: Knex, collectionId: string, { limit, skip }: { limit: number; skip: number }): Promise<Page<StoredMember>> {
  const [{ count }] = await db('members').where({ collection_id: collectionId }).count({ count: '*' })
  const rows = limit === 0 ? [] : await membersWithEmail(db).where('members.collection_id', collectionId).orderBy('members.user_id').limit(limit).offset(skip)
  return { total: Number(count), data: rows.map(memberFromRow) }
}

export async function getMember(db: Knex | Knex.Transaction, collectionId: string, userId: string): Promise<StoredMember | undefined> {
  const row = await membersWithEmail(db).where({ 'members.collection_id': collectionId, 'members.user_id': userId }).first()
  return row && memberFromRow(row)
}

/**
 * Takes the collection's row lock (PostgreSQL; SQLite transactions run one
 * at a time anyway) so that membership changes of one collection serialise,
 * and the owner count they check cannot change under them.
 */
async function lockCollection(trx: Knex.Transaction, collectionId: string): Promise<void> {
  // A column set to itself: the row lock without changing what the collection shows (updatedAt is its name's).
  const updated = await trx('collections').where({ id: collectionId }).update({ lock_seq: trx.ref('lock_seq') })
  if (updated === 0) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
}

async function assertNotLastOwner(trx: Knex.Transaction, collectionId: string, userId: string): Promise<void> {
  const owners = await trx<MemberRow>('members').where({ collection_id: collectionId, role: 'owner' }).pluck('user_id')
  if (owners.length === 1 && owners[0] === userId) {
    throw new StorageError('last-owner', 'A collection keeps at least one owner: make someone else an owner first')
  }
}

export async function putMember(
  trx: Knex.Transaction,
  { collectionId, userId, role }: { collectionId: string; userId: string; role: MemberRole },
  at: string,
  onlyIf?: 'new' | 'existing'
): Promise<MemberChange> {
  await lockCollection(trx, collectionId)
  const existing = await trx<MemberRow>('members').where({ collection_id: collectionId, user_id: userId }).first()
  if (existing !== undefined && onlyIf === 'new') throw new StorageError('already-exists', `User ${userId} is already a member`)
  if (existing === undefined && onlyIf === 'existing') throw new StorageError('not-found', `User ${userId} is not a member`)
  if (existing === undefined) {
    const user = await trx('users').where({ id: userId }).first('id')
    if (user === undefined) throw new StorageError('not-found', `User ${userId} does not exist`)
    await trx<MemberRow>('members').insert({ collection_id: collectionId, user_id: userId, role, created_at: at, updated_at: at })
  } else if (existing.role !== role) {
    if (existing.role === 'owner') await assertNotLastOwner(trx, collectionId, userId)
    await trx<MemberRow>('members').where({ collection_id: collectionId, user_id: userId }).update({ role, updated_at: at })
  }
  // A reader may not write, so an exclusive lease (which keeps writers out) ends with the demotion.
  const locks = role === 'reader' && existing !== undefined && existing.role !== 'reader' ? await releaseLocksOf(trx, collectionId, userId, 'exclusive') : []
  const revokedInvitations = await supersedeInvitations(trx, collectionId, userId, at)
  const member = (await getMember(trx, collectionId, userId))!
  return { member, previousRole: existing?.role as MemberRole | undefined, locks, revokedInvitations }
}

/**
 * Pending invitations of a user to a collection whose membership was just
 * set are revoked: accepting one later would otherwise undo that change
 * (a demoted member accepting an older invitation as admin).
 */
async function supersedeInvitations(trx: Knex.Transaction, collectionId: string, userId: string, at: string): Promise<StoredInvitation[]> {
  // Pending by status, expired or not: an expired one is revoked too, and nobody is told of it.
  const ids: string[] = await trx<InvitationRow>('invitations')
    .where({ collection_id: collectionId, status: 'pending' })
    .andWhere((whom) =>
      whom
        .where({ invitee_user_id: userId })
        .orWhere((byEmail) => byEmail.whereNull('invitee_user_id').andWhere('invitee_email', trx('users').select('email').where({ id: userId })))
    )
    .pluck('id')
  if (ids.length === 0) return []
  await trx<InvitationRow>('invitations').whereIn('id', ids).update({ status: 'revoked', answered_at: at })
  const revoked = await Promise.all(ids.sort().map((id) => getInvitation(trx, id, at)))
  return revoked.filter((invitation): invitation is StoredInvitation => invitation !== undefined)
}

export async function removeMember(trx: Knex.Transaction, collectionId: string, userId: string, at: string): Promise<MemberRemoval> {
  await lockCollection(trx, collectionId)
  const member = await getMember(trx, collectionId, userId)
  if (member === undefined) throw new StorageError('not-found', `User ${userId} is not a member`)
  if (member.role === 'owner') await assertNotLastOwner(trx, collectionId, userId)
  await trx('members').where({ collection_id: collectionId, user_id: userId }).del()
  const locks = await releaseLocksOf(trx, collectionId, userId)
  const revokedInvitations = await supersedeInvitations(trx, collectionId, userId, at)
  // Their open batches that staged something here could only fail at commit now: end them (as abortBatch does).
  const abortedBatches: string[] = await trx('batches')
    .where({ user_id: userId, status: 'open' })
    .whereIn('id', trx('batch_operations').distinct('batch_id').where({ collection_id: collectionId }))
    .pluck('id')
  if (abortedBatches.length > 0) {
    await trx('batches').whereIn('id', abortedBatches).update({ status: 'aborted' })
    await trx('batch_operations').whereIn('batch_id', abortedBatches).del()
  }
  return { member, locks, abortedBatches: abortedBatches.sort(), revokedInvitations }
}

/**
 * At most `maxOwnedPerUser` collections owned by one user, counted under a
 * lock on the user's row, so that concurrent creates by the same user (on
 * PostgreSQL, each in its own transaction) wait for each other instead of
 * each counting the others as absent. The lock writes no key column, so it
 * does not block foreign-key checks on the user.
 */
export async function checkOwnedQuota(trx: Knex.Transaction, userId: string, { maxOwnedPerUser }: CollectionQuota): Promise<void> {
  await trx('users').where({ id: userId }).update({ created_at: trx.ref('created_at') })
  const [{ owned }] = await trx('members').where({ user_id: userId, role: 'owner' }).count({ owned: '*' })
  if (Number(owned) >= maxOwnedPerUser) {
    throw new StorageError('quota-exceeded', `You own ${Number(owned)} collections; the limit is ${maxOwnedPerUser} (quotas.collectionsPerUser)`)
  }
}

/**
 * At most `maxPendingPerCollection` pending, unexpired invitations to one
 * collection, counted under a lock on the collection's row (taken first, so
 * concurrent invitations to it wait for each other). When full, the client
 * may retry once the oldest pending one expires.
 */
async function checkPendingQuota(trx: Knex.Transaction, collectionId: string, at: string, { maxPendingPerCollection }: InvitationQuota): Promise<void> {
  const [{ pending, firstExpiry }] = await trx('invitations')
    .where({ collection_id: collectionId, status: 'pending' })
    .andWhere('expires_at', '>', at)
    .select(trx.raw('COUNT(*) AS ??', ['pending']), trx.raw('MIN(expires_at) AS ??', ['firstExpiry']))
  if (Number(pending) >= maxPendingPerCollection) {
    const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(String(firstExpiry)) - Date.parse(at)) / 1000))
    throw new StorageError(
      'quota-exceeded',
      `Collection ${collectionId} has ${Number(pending)} pending invitations; the limit is ${maxPendingPerCollection} (quotas.pendingInvitationsPerCollection)`,
      { retryAfterSeconds }
    )
  }
}

export async function createInvitation(trx: Knex.Transaction, invitation: NewInvitation, at: string, quota?: InvitationQuota): Promise<StoredInvitation> {
  // An UPDATE that changes nothing locks the row on both backends (as lockBatch does).
  const [collection]: Array<{ name: string | null }> = await trx('collections')
    .where({ id: invitation.collectionId })
    .update({ updated_at: trx.ref('updated_at') })
    .returning('name')
  if (collection === undefined) throw new StorageError('not-found', `Collection ${invitation.collectionId} does not exist`)
  if (quota !== undefined) await checkPendingQuota(trx, invitation.collectionId, at, quota)
  if (invitation.inviteeUserId !== null) {
    const user = await trx('users').where({ id: invitation.inviteeUserId }).first('id')
    if (user === undefined) throw new StorageError('not-found', `User ${invitation.inviteeUserId} does not exist`)
  }
  const row: InvitationRow = {
    id: invitation.id,
    collection_id: invitation.collectionId,
    role: invitation.role,
    invitee_user_id: invitation.inviteeUserId,
    invitee_email: invitation.inviteeEmail,
    invited_by: invitation.invitedBy,
    status: 'pending',
    created_at: at,
    expires_at: invitation.expiresAt,
    answered_at: null
  }
  await trx<InvitationRow>('invitations').insert(row)
  return invitationFromRow({ ...row, collection_name: collection.name }, at)
}

/** Invitations with their collection's current name, which an invitee may not otherwise see before accepting. */
const withCollectionName = (db: Knex | Knex.Transaction) =>
  db<InvitationRow>('invitations').select('invitations.*', db.raw('(SELECT name FROM collections WHERE collections.id = invitations.collection_id) AS collection_name'))

export async function getInvitation(db: Knex | Knex.Transaction, id: string, now: string): Promise<StoredInvitation | undefined> {
  const row = (await withCollectionName(db).where({ id }).first()) as InvitationRow | undefined
  return row && invitationFromRow(row, now)
}

export async function listInvitations(db: Knex, { collectionId, invitee, status, now, limit, skip }: ListInvitationsParams): Promise<Page<StoredInvitation>> {
  const query = withCollectionName(db).where((where) => {
    if (collectionId !== undefined) where.andWhere({ collection_id: collectionId })
    if (invitee !== undefined) {
      where.andWhere((whom) => whom.where({ invitee_user_id: invitee.userId }).orWhere({ invitee_email: invitee.email }))
    }
    if (status === 'pending') where.andWhere({ status: 'pending' }).andWhere('expires_at', '>', now)
    else if (status === 'expired') where.andWhere({ status: 'pending' }).andWhere('expires_at', '<=', now)
    else if (status !== undefined) where.andWhere({ status })
  })
  const [{ count }] = await query.clone().clearSelect().count({ count: '*' })
  const rows = limit === 0 ? [] : ((await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]).limit(limit).offset(skip)) as InvitationRow[])
  return { total: Number(count), data: rows.map((row) => invitationFromRow(row, now)) }
}

async function pendingInvitation(trx: Knex.Transaction, id: string, at: string): Promise<StoredInvitation> {
  const invitation = await getInvitation(trx, id, at)
  if (invitation === undefined) throw new StorageError('not-found', `Invitation ${id} does not exist`)
  if (invitation.status !== 'pending') {
    throw new StorageError('closed', `Invitation ${id} is ${invitation.status}`, { status: invitation.status })
  }
  return invitation
}

/**
 * Closes a pending invitation with a conditional UPDATE: of two answers (or an
 * answer and a revocation) racing, the second waits for the first's row lock
 * (PostgreSQL) and then finds it no longer pending, so exactly one wins.
 */
async function closeInvitation(
  trx: Knex.Transaction,
  id: string,
  status: 'accepted' | 'declined' | 'revoked',
  at: string,
  inviteeUserId?: string
): Promise<StoredInvitation> {
  const updated = await trx<InvitationRow>('invitations')
    .where({ id, status: 'pending' })
    .andWhere('expires_at', '>', at)
    .update(inviteeUserId === undefined ? { status, answered_at: at } : { status, answered_at: at, invitee_user_id: inviteeUserId })
  if (updated === 0) {
    // Not closed by us: missing, answered meanwhile or expired; this throws which.
    await pendingInvitation(trx, id, at)
    throw new StorageError('internal', `Invitation ${id} could not be closed`)
  }
  return (await getInvitation(trx, id, at))!
}

/**
 * The invitee is whoever the service says answers (it checks that the
 * caller is the invitee); accepting makes them a member by user id, which an
 * e-mail invitation learns now. The collection's row is locked before the
 * invitation's, in the order deleting a collection takes them; the
 * invitation is closed before the membership is set, which revokes the
 * user's other pending invitations to the collection.
 */
export async function answerInvitation(
  trx: Knex.Transaction,
  id: string,
  answer: 'accepted' | 'declined',
  userId: string,
  at: string
): Promise<InvitationAnswer> {
  const invitation = await pendingInvitation(trx, id, at)
  await lockCollection(trx, invitation.collectionId)
  const closed = await closeInvitation(trx, id, answer, at, userId)
  const change = answer === 'accepted' ? await putMember(trx, { collectionId: invitation.collectionId, userId, role: invitation.role }, at) : undefined
  return { invitation: closed, change }
}

export async function revokeInvitation(trx: Knex.Transaction, id: string, at: string): Promise<StoredInvitation> {
  return closeInvitation(trx, id, 'revoked', at)
}

/** Invitations past their expiry, or answered, before `retainUntil`: gone for good. */
export async function purgeInvitations(trx: Knex.Transaction, retainUntil: string): Promise<number> {
  return trx('invitations')
    .where('expires_at', '<=', retainUntil)
    .orWhere((answered) => answered.whereNot({ status: 'pending' }).andWhere('answered_at', '<=', retainUntil))
    .del()
}
