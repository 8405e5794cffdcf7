import { describe, expect, it } from 'vitest'
import type { StoredCollection, StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { sharingKit } from './sharing-kit.js'

/**
 * Every mutating operation checks its preconditions inside its transaction
 * (issue 14, item 2): the roles of actor and target for member changes,
 * renames and deletes, and who may answer, revoke or send an invitation.
 *
 * A service checks the caller's role first (src/access.ts) and then calls
 * storage; between the two, another call may commit a change that takes that
 * role away. Each test below has a SEQUENTIAL variant that commits that
 * change first and then makes the storage call the service would make with
 * its now stale check: the storage call must refuse it ('forbidden'), and
 * nothing else in the test could — so each sequential variant fails if its
 * in-transaction check is removed. The CONCURRENT variants fire both calls
 * at once, many rounds, and check that every end state is one a serial order
 * of the two could give.
 */

export function racesTests(ctx: SuiteContext): void {
  describe('races: preconditions checked inside the transaction', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, addMember, roleOf, invite } = sharingKit(db)
    const ROUNDS = 5

    /** A collection of a fresh owner with fresh members of the given roles. */
    const team = async (...roles: Array<'owner' | 'admin' | 'writer' | 'reader'>): Promise<{ collection: StoredCollection; owner: StoredUser; members: StoredUser[] }> => {
      const owner = await newUser()
      const collection = await newCollection(owner)
      const members: StoredUser[] = []
      for (const role of roles) {
        const member = await newUser()
        await addMember(collection, member, role)
        members.push(member)
      }
      return { collection, owner, members }
    }

    const nameOf = async (collectionId: string) => (await db.storage.getCollection(collectionId))?.name

    // (a) Two admins removing each other.

    it('an admin removed a moment ago cannot remove the admin who removed them', async () => {
      const { collection, members: [a, b] } = await team('admin', 'admin')
      await db.storage.removeMember({ collectionId: collection.id, userId: b.id, actorId: a.id, at: at(10) })
      // B's service saw B as an admin before the removal committed.
      const error = await rejection(db.storage.removeMember({ collectionId: collection.id, userId: a.id, actorId: b.id, at: at(11) }), 'forbidden')
      expect(error.access?.role).toBeUndefined()
      expect(await roleOf(collection.id, a.id)).toBe('admin')
    })

    it('two admins removing each other at once: exactly one succeeds, and the other stays', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { collection, members: [a, b] } = await team('admin', 'admin')
        const results = await Promise.allSettled([
          db.storage.removeMember({ collectionId: collection.id, userId: b.id, actorId: a.id, at: at(10) }),
          db.storage.removeMember({ collectionId: collection.id, userId: a.id, actorId: b.id, at: at(10) })
        ])
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        await rejection(Promise.reject(results.find((result) => result.status === 'rejected')?.reason), 'forbidden')
        const left = [await roleOf(collection.id, a.id), await roleOf(collection.id, b.id)]
        expect(left.filter((role) => role === 'admin')).toHaveLength(1)
        expect(left.filter((role) => role === undefined)).toHaveLength(1)
      }
    })

    // (b) A demotion against a promotion of the same member.

    it('an admin cannot demote a member the owner made an owner a moment ago', async () => {
      const { collection, owner, members: [admin, w] } = await team('admin', 'writer')
      await addMember(collection, w, 'owner', at(10), owner)
      // The admin's service checked W when W was a writer (admins manage writers).
      const error = await rejection(addMember(collection, w, 'reader', at(11), admin), 'forbidden')
      expect(error.access?.role).toBe('admin')
      expect(await roleOf(collection.id, w.id)).toBe('owner')
    })

    it('a demotion by an admin against a promotion to owner, at once: never an owner demoted by an admin', async () => {
      for (let round = 0; round < ROUNDS * 2; round++) {
        const { collection, owner, members: [admin, w] } = await team('admin', 'writer')
        const [promotion, demotion] = await Promise.allSettled([addMember(collection, w, 'owner', at(10), owner), addMember(collection, w, 'reader', at(10), admin)])
        // Both orders end with W an owner: promoted last, or the demotion refused.
        expect(promotion.status).toBe('fulfilled')
        expect(await roleOf(collection.id, w.id)).toBe('owner')
        if (demotion.status === 'fulfilled') {
          // The demotion came first: the promotion changed a reader.
          expect(demotion.value.previousRole).toBe('writer')
          expect(promotion.status === 'fulfilled' && promotion.value.previousRole).toBe('reader')
        } else {
          await rejection(Promise.reject(demotion.reason), 'forbidden')
          expect(promotion.status === 'fulfilled' && promotion.value.previousRole).toBe('writer')
        }
      }
    })

    // (c) A rename against a removal.

    it('an admin removed a moment ago cannot rename the collection, and its name stays', async () => {
      const { collection, owner, members: [admin] } = await team('admin')
      await db.storage.removeMember({ collectionId: collection.id, userId: admin.id, actorId: owner.id, at: at(10) })
      const error = await rejection(db.storage.renameCollection({ id: collection.id, name: 'renamed', actorId: admin.id, at: at(11) }), 'forbidden')
      // Not a member any more: the service answers 404, as to any stranger.
      expect(error.access?.role).toBeUndefined()
      expect(await nameOf(collection.id)).toBe(collection.name)
    })

    it('a rename by an admin against their removal, at once: the name changes only if the rename came first', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { collection, owner, members: [admin] } = await team('admin')
        const [removal, rename] = await Promise.allSettled([
          db.storage.removeMember({ collectionId: collection.id, userId: admin.id, actorId: owner.id, at: at(10) }),
          db.storage.renameCollection({ id: collection.id, name: 'renamed', actorId: admin.id, at: at(10) })
        ])
        expect(removal.status).toBe('fulfilled')
        expect(await roleOf(collection.id, admin.id)).toBeUndefined()
        if (rename.status === 'rejected') await rejection(Promise.reject(rename.reason), 'forbidden')
        expect(await nameOf(collection.id)).toBe(rename.status === 'fulfilled' ? 'renamed' : collection.name)
      }
    })

    // (d) A delete by an owner demoted a moment ago.

    it('an owner demoted a moment ago cannot delete the collection', async () => {
      const { collection, owner, members: [other] } = await team('owner')
      await addMember(collection, owner, 'admin', at(10), other)
      const error = await rejection(db.storage.deleteCollection({ id: collection.id, actorId: owner.id }), 'forbidden')
      expect(error.access?.role).toBe('admin')
      expect(await db.storage.getCollection(collection.id)).toBeDefined()
      expect(await roleOf(collection.id, other.id)).toBe('owner')
    })

    it('a delete against the deleter’s demotion, at once: exactly one of them happens', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { collection, owner, members: [other] } = await team('owner')
        const [deletion, demotion] = await Promise.allSettled([
          db.storage.deleteCollection({ id: collection.id, actorId: owner.id }),
          addMember(collection, owner, 'admin', at(10), other)
        ])
        expect([deletion.status, demotion.status].filter((status) => status === 'fulfilled')).toHaveLength(1)
        if (deletion.status === 'fulfilled') {
          // Deleted first: the demotion finds no collection.
          await rejection(Promise.reject(demotion.status === 'rejected' ? demotion.reason : undefined), 'not-found')
          expect(await db.storage.getCollection(collection.id)).toBeUndefined()
        } else {
          await rejection(Promise.reject(deletion.reason), 'forbidden')
          expect(await roleOf(collection.id, owner.id)).toBe('admin')
        }
      }
    })

    // (e) Only the invitee answers.

    it('someone who is not the invitee cannot answer an invitation (by id or by e-mail); it stays pending', async () => {
      const { collection, owner } = await team()
      const bob = await newUser()
      const mallory = await newUser()
      const byId = await invite(collection, owner, { user: bob })
      const byEmail = await invite(collection, owner, { email: bob.email })
      for (const invitation of [byId, byEmail]) {
        for (const answer of ['accepted', 'declined'] as const) {
          await rejection(db.storage.answerInvitation({ id: invitation.id, answer, userId: mallory.id, at: at(20) }), 'forbidden')
        }
        expect(await db.storage.getInvitation(invitation.id, at(21))).toEqual(invitation)
      }
      expect(await roleOf(collection.id, mallory.id)).toBeUndefined()
      // The invitee still can.
      expect((await db.storage.answerInvitation({ id: byEmail.id, answer: 'accepted', userId: bob.id, at: at(22) })).change?.member.role).toBe('writer')
    })

    // (f) Revoking needs the right to give the invited role.

    it('an admin cannot revoke an invitation to be an owner; it stays pending', async () => {
      const { collection, owner, members: [admin] } = await team('admin')
      const invitation = await invite(collection, owner, { email: 'future-owner@example.com' }, { role: 'owner' })
      const error = await rejection(db.storage.revokeInvitation({ id: invitation.id, actorId: admin.id, at: at(20) }), 'forbidden')
      expect(error.access?.role).toBe('admin')
      expect(await db.storage.getInvitation(invitation.id, at(21))).toEqual(invitation)
    })

    it('an admin removed a moment ago cannot revoke any invitation', async () => {
      const { collection, owner, members: [admin] } = await team('admin')
      const invitation = await invite(collection, admin, { email: 'friend@example.com' }, { role: 'writer' })
      await db.storage.removeMember({ collectionId: collection.id, userId: admin.id, actorId: owner.id, at: at(15) })
      await rejection(db.storage.revokeInvitation({ id: invitation.id, actorId: admin.id, at: at(20) }), 'forbidden')
      expect((await db.storage.getInvitation(invitation.id, at(21)))?.status).toBe('pending')
    })

    // (g) Inviting needs the right to give the invited role.

    it('a reader cannot invite, an admin cannot invite an owner, an admin demoted a moment ago cannot invite: nothing created', async () => {
      const { collection, owner, members: [reader, admin, demoted] } = await team('reader', 'admin', 'admin')
      await addMember(collection, demoted, 'reader', at(5), owner)
      await rejection(invite(collection, reader, { email: 'a@example.com' }, { role: 'reader' }), 'forbidden')
      await rejection(invite(collection, admin, { email: 'b@example.com' }, { role: 'owner' }), 'forbidden')
      await rejection(invite(collection, demoted, { email: 'c@example.com' }, { role: 'reader' }), 'forbidden')
      expect(await db.storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
      // Allowed ones still go through.
      await invite(collection, admin, { email: 'd@example.com' }, { role: 'admin' })
      await invite(collection, owner, { email: 'e@example.com' }, { role: 'owner' })
      expect((await db.storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 10, skip: 0 })).total).toBe(2)
    })
  })
}
