import type { BatchLimits, MemberRole, NewInvitation, StoredCollection, StoredInvitation, StoredUser } from '../../../src/storage/types.js'
import { at, fresh } from './builders.js'
import type { Fixture } from './context.js'

export const LIMITS: BatchLimits = { maxOperations: 10, maxBytes: 10_000, maxOpenPerUser: 100, maxStagedBytesPerUser: 100_000 }

/**
 * The helpers the member, invitation and race tests share, over one
 * fixture's storage. Users and collections are fresh in every test, so lists
 * hold only what the test made.
 */
export function sharingKit(db: Fixture) {
  const newUser = (): Promise<StoredUser> => db.storage.createUser({ email: `${fresh('sharer')}@example.com`, password: 'x' }, at(0))

  const newCollection = (owner: StoredUser, id = fresh('shared')): Promise<StoredCollection> =>
    db.storage.createCollection({ id, name: null, ownerId: owner.id }, at(1))

  /** Gives `user` a role, as `actor` (the collection's creator unless said). */
  const addMember = (collection: StoredCollection, user: StoredUser, role: MemberRole, when = at(2), actor: StoredUser | string = collection.ownerId) =>
    db.storage.putMember({ collectionId: collection.id, userId: user.id, role, at: when, actorId: typeof actor === 'string' ? actor : actor.id })

  const roleOf = async (collectionId: string, userId: string): Promise<MemberRole | undefined> =>
    (await db.storage.getMember(collectionId, userId))?.role

  const ownersOf = async (collectionId: string): Promise<string[]> =>
    (await db.storage.listMemberRoles(collectionId)).filter((member) => member.role === 'owner').map((member) => member.userId)

  /** An invitation to a user (by id) or to an e-mail address, writer unless said, pending until at(1000). */
  const invite = (
    collection: { id: string },
    invitedBy: StoredUser,
    invitee: { user: StoredUser } | { email: string },
    extra: Partial<NewInvitation> = {},
    when = at(10)
  ): Promise<StoredInvitation> =>
    db.storage.createInvitation(
      {
        id: fresh('invitation'),
        collectionId: collection.id,
        role: 'writer',
        inviteeUserId: 'user' in invitee ? invitee.user.id : null,
        inviteeEmail: 'email' in invitee ? invitee.email : null,
        invitedBy: invitedBy.id,
        expiresAt: at(1000),
        keys: null,
        ...extra
      },
      when
    )

  const openBatch = async (user: StoredUser): Promise<string> =>
    (await db.storage.openBatch({ id: fresh('batch'), userId: user.id, expiresAt: at(3600), declaredOperations: null, declaredBytes: null }, LIMITS, at(3))).batch.id

  const stage = (batchId: string, user: StoredUser, collectionIds: string[]) =>
    db.storage.stageOperations(batchId, {
      userId: user.id,
      operations: collectionIds.map((collectionId) => ({ op: 'put' as const, collectionId, id: fresh('record'), data: 1, baseVersion: null })),
      limits: LIMITS,
      now: at(4)
    })

  const statusOf = async (batchId: string): Promise<string | undefined> => (await db.storage.getBatch(batchId, at(5)))?.status

  return { newUser, newCollection, addMember, roleOf, ownersOf, invite, openBatch, stage, statusOf }
}
