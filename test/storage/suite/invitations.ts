import { describe, expect, it } from 'vitest'
import type { StoredInvitation } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh, ids } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { sharingKit } from './sharing-kit.js'

/**
 * Invitations: created by e-mail or user id, listed for a collection or an
 * invitee, expiring, answered once (accepting makes a member in the same
 * transaction), revoked, superseded by a membership change, and purged.
 */

export function invitationsTests(ctx: SuiteContext): void {
  describe('invitations', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, addMember, roleOf, ownersOf, invite } = sharingKit(db)

    // -------------------------------------------------------------------------
    // Invitations
    // -------------------------------------------------------------------------

    it('creates invitations by e-mail and by user id, pending; getInvitation returns them', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const byEmail = await invite(collection, alice, { email: 'new.friend@example.com' }, { role: 'reader' })
      expect(byEmail).toEqual({
        id: byEmail.id,
        collectionId: collection.id,
        collectionName: null,
        role: 'reader',
        inviteeUserId: null,
        inviteeEmail: 'new.friend@example.com',
        invitedBy: alice.id,
        status: 'pending',
        createdAt: at(10),
        expiresAt: at(1000),
        answeredAt: null,
        keyEpochs: []
      })
      const byId = await invite(collection, alice, { user: bob })
      expect(byId).toMatchObject({ inviteeUserId: bob.id, inviteeEmail: null, role: 'writer', status: 'pending' })

      expect(await db.storage.getInvitation(byEmail.id, at(11))).toEqual(byEmail)
      expect(await db.storage.getInvitation(byId.id, at(11))).toEqual(byId)
      expect(await db.storage.getInvitation(fresh('no-such-invitation'), at(11))).toBeUndefined()

      // They carry the collection's name as it is now: the invitee cannot read the collection yet.
      await db.storage.renameCollection({ id: collection.id, name: 'Pets', actorId: alice.id, at: at(12) })
      expect((await db.storage.getInvitation(byId.id, at(13)))?.collectionName).toBe('Pets')
      const [listed] = (await db.storage.listInvitations({ invitee: { userId: bob.id, email: bob.email }, now: at(13), limit: 10, skip: 0 })).data
      expect(listed).toEqual({ ...byId, collectionName: 'Pets' })
    })

    it('createInvitation for a missing collection or an unknown user id: not-found, nothing stored', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const missing = { id: fresh('missing') }
      const first = fresh('invitation')
      await rejection(invite(missing, alice, { email: 'someone@example.com' }, { id: first }), 'not-found')
      const second = fresh('invitation')
      await rejection(invite(collection, alice, { email: 'ignored@example.com' }, { id: second, inviteeEmail: null, inviteeUserId: '00000000-0000-4000-8000-000000000000' }), 'not-found')
      expect(await db.storage.getInvitation(first, at(11))).toBeUndefined()
      expect(await db.storage.getInvitation(second, at(11))).toBeUndefined()
      expect(await db.storage.listInvitations({ collectionId: collection.id, now: at(11), limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    })

    it("a pending invitation reads as 'expired' once now passes expiresAt", async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { email: 'late@example.com' }, { expiresAt: at(100) })
      expect((await db.storage.getInvitation(invitation.id, at(99)))!.status).toBe('pending')
      expect(await db.storage.getInvitation(invitation.id, at(101))).toEqual({ ...invitation, status: 'expired' })
    })

    it("lists a collection's invitations newest first, paged, with the total", async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const other = await newCollection(alice)
      const made = [
        await invite(collection, alice, { email: 'one@example.com' }, {}, at(10)),
        await invite(collection, alice, { email: 'two@example.com' }, {}, at(11)),
        await invite(collection, alice, { email: 'three@example.com' }, {}, at(12))
      ]
      await invite(other, alice, { email: 'one@example.com' }, {}, at(13))

      const all = await db.storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 10, skip: 0 })
      expect(all).toEqual({ total: 3, data: [...made].reverse() })
      expect(await db.storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 2, skip: 1 })).toEqual({ total: 3, data: [made[1], made[0]] })
      expect(await db.storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 0, skip: 0 })).toEqual({ total: 3, data: [] })
    })

    it("lists a user's invitations by their user id or their e-mail", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const carol = await newUser()
      const [one, two, three] = [await newCollection(alice), await newCollection(alice), await newCollection(alice)]
      const byId = await invite(one, alice, { user: bob }, {}, at(10))
      const byEmail = await invite(two, alice, { email: bob.email }, {}, at(11))
      await invite(three, alice, { user: carol }, {}, at(12))
      await invite(three, alice, { email: carol.email }, {}, at(13))

      const bobs = await db.storage.listInvitations({ invitee: { userId: bob.id, email: bob.email }, now: at(20), limit: 10, skip: 0 })
      expect(bobs).toEqual({ total: 2, data: [byEmail, byId] })
      const onlyOne = await db.storage.listInvitations({ collectionId: one.id, invitee: { userId: bob.id, email: bob.email }, now: at(20), limit: 10, skip: 0 })
      expect(onlyOne).toEqual({ total: 1, data: [byId] })
    })

    it("lists by status: 'pending' leaves out expired ones, 'expired' lists only those, answered ones by their status", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const pending = await invite(collection, alice, { email: 'waiting@example.com' }, { expiresAt: at(1000) }, at(10))
      const expired = await invite(collection, alice, { email: 'too-late@example.com' }, { expiresAt: at(50) }, at(11))
      const declined = await invite(collection, alice, { user: bob }, {}, at(12))
      await db.storage.answerInvitation({ id: declined.id, answer: 'declined', userId: bob.id, at: at(13) })

      const list = async (status: StoredInvitation['status']) =>
        ids((await db.storage.listInvitations({ collectionId: collection.id, status, now: at(100), limit: 10, skip: 0 })).data)
      expect(await list('pending')).toEqual([pending.id])
      expect(await list('expired')).toEqual([expired.id])
      expect(await list('declined')).toEqual([declined.id])
      expect(await list('accepted')).toEqual([])
      // Before its expiry the same invitation counts as pending.
      const early = await db.storage.listInvitations({ collectionId: collection.id, status: 'pending', now: at(20), limit: 10, skip: 0 })
      expect(ids(early.data)).toEqual([expired.id, pending.id])
      expect((await db.storage.listInvitations({ collectionId: collection.id, status: 'expired', now: at(100), limit: 10, skip: 0 })).data[0].status).toBe('expired')
    })

    it('accepting makes the answering user a member with the invited role; an e-mail invitation learns their id', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { email: bob.email }, { role: 'admin' })

      const answer = await db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(20) })
      expect(answer.invitation).toEqual({ ...invitation, status: 'accepted', answeredAt: at(20), inviteeUserId: bob.id })
      expect(answer.change).toEqual({
        member: { collectionId: collection.id, userId: bob.id, email: bob.email, role: 'admin', createdAt: at(20), updatedAt: at(20) },
        previousRole: undefined,
        locks: [],
        revokedInvitations: []
      })
      expect(await db.storage.getInvitation(invitation.id, at(21))).toEqual(answer.invitation)
      expect(await roleOf(collection.id, bob.id)).toBe('admin')
      expect((await db.storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).data).toMatchObject([{ id: collection.id, role: 'admin' }])
    })

    it("accepting as a member already changes their role: previousRole is the old one", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'reader')
      const invitation = await invite(collection, alice, { user: bob }, { role: 'writer' })
      const answer = await db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(20) })
      expect(answer.change).toMatchObject({ member: { userId: bob.id, role: 'writer' }, previousRole: 'reader' })
    })

    it('setting or ending a membership revokes the user’s other pending invitations to that collection (by id and by e-mail), and only those', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const carol = await newUser()
      const collection = await newCollection(alice)
      const other = await newCollection(alice)
      const byId = await invite(collection, alice, { user: bob }, { role: 'admin' })
      const byEmail = await invite(collection, alice, { email: bob.email }, { role: 'owner' })
      const elsewhere = await invite(other, alice, { user: bob })
      const carols = await invite(collection, alice, { user: carol })

      const change = await addMember(collection, bob, 'reader', at(30))
      expect(change.revokedInvitations.map((invitation) => invitation.id)).toEqual([byId.id, byEmail.id].sort())
      expect(change.revokedInvitations.map((invitation) => invitation.status)).toEqual(['revoked', 'revoked'])
      expect((await db.storage.getInvitation(byId.id, at(31)))?.status).toBe('revoked')
      expect((await db.storage.getInvitation(byEmail.id, at(31)))?.status).toBe('revoked')
      expect((await db.storage.getInvitation(elsewhere.id, at(31)))?.status).toBe('pending')
      expect((await db.storage.getInvitation(carols.id, at(31)))?.status).toBe('pending')
      // A demoted member cannot undo the demotion with an older invitation.
      await rejection(db.storage.answerInvitation({ id: byId.id, answer: 'accepted', userId: bob.id, at: at(32) }), 'closed')
      expect(await roleOf(collection.id, bob.id)).toBe('reader')

      const later = await invite(collection, alice, { user: bob }, { role: 'admin' }, at(33))
      const removal = await db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(34) })
      expect(removal.revokedInvitations.map((invitation) => invitation.id)).toEqual([later.id])
      expect((await db.storage.getInvitation(later.id, at(35)))?.status).toBe('revoked')
    })


    it('declining records the answer and adds nobody', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { user: bob })
      const answer = await db.storage.answerInvitation({ id: invitation.id, answer: 'declined', userId: bob.id, at: at(20) })
      expect(answer.change).toBeUndefined()
      expect(answer.invitation).toMatchObject({ status: 'declined', answeredAt: at(20) })
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
      expect(await db.storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    })

    it("answering or revoking an invitation that is no longer pending: closed, with its status", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const accepted = await invite(collection, alice, { user: bob })
      await db.storage.answerInvitation({ id: accepted.id, answer: 'accepted', userId: bob.id, at: at(20) })
      const declined = await invite(collection, alice, { user: bob })
      await db.storage.answerInvitation({ id: declined.id, answer: 'declined', userId: bob.id, at: at(20) })
      const revoked = await invite(collection, alice, { user: bob })
      await db.storage.revokeInvitation({ id: revoked.id, actorId: alice.id, at: at(20) })

      for (const [invitation, status] of [[accepted, 'accepted'], [declined, 'declined'], [revoked, 'revoked']] as const) {
        expect((await rejection(db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(30) }), 'closed')).status).toBe(status)
        expect((await rejection(db.storage.answerInvitation({ id: invitation.id, answer: 'declined', userId: bob.id, at: at(30) }), 'closed')).status).toBe(status)
        expect((await rejection(db.storage.revokeInvitation({ id: invitation.id, actorId: alice.id, at: at(30) }), 'closed')).status).toBe(status)
        expect((await db.storage.getInvitation(invitation.id, at(30)))!).toMatchObject({ status, answeredAt: at(20) })
      }
    })

    it("accepting (or revoking) an expired invitation: closed with status 'expired', nobody added", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { user: bob }, { expiresAt: at(100) })
      expect((await rejection(db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(101) }), 'closed')).status).toBe('expired')
      expect((await rejection(db.storage.revokeInvitation({ id: invitation.id, actorId: alice.id, at: at(101) }), 'closed')).status).toBe('expired')
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
    })

    it('answering or revoking an unknown invitation: not-found', async () => {
      const bob = await newUser()
      await rejection(db.storage.answerInvitation({ id: fresh('no-such-invitation'), answer: 'accepted', userId: bob.id, at: at(20) }), 'not-found')
      await rejection(db.storage.revokeInvitation({ id: fresh('no-such-invitation'), actorId: bob.id, at: at(20) }), 'not-found')
    })

    it('accepting where it would demote the last owner: last-owner, and the invitation stays pending', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { user: alice }, { role: 'reader' })
      await rejection(db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: alice.id, at: at(20) }), 'last-owner')
      expect(await db.storage.getInvitation(invitation.id, at(21))).toEqual(invitation)
      expect(await ownersOf(collection.id)).toEqual([alice.id])
    })

    it('revokeInvitation withdraws a pending invitation, which can then not be accepted', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const invitation = await invite(collection, alice, { email: bob.email })
      const revoked = await db.storage.revokeInvitation({ id: invitation.id, actorId: alice.id, at: at(20) })
      expect(revoked).toEqual({ ...invitation, status: 'revoked', answeredAt: at(20) })
      expect(await db.storage.getInvitation(invitation.id, at(21))).toEqual(revoked)
      await rejection(db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(22) }), 'closed')
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
    })

    it('accepting, declining and revoking one invitation at once: exactly one wins, and membership follows it', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      for (let round = 0; round < 5; round++) {
        const bob = await newUser()
        const invitation = await invite(collection, alice, { user: bob })
        const results = await Promise.allSettled([
          db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(20) }),
          db.storage.answerInvitation({ id: invitation.id, answer: 'declined', userId: bob.id, at: at(20) }),
          db.storage.revokeInvitation({ id: invitation.id, actorId: alice.id, at: at(20) })
        ])
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results) if (result.status === 'rejected') await rejection(Promise.reject(result.reason), 'closed')
        const final = (await db.storage.getInvitation(invitation.id, at(21)))!
        expect(await roleOf(collection.id, bob.id)).toBe(final.status === 'accepted' ? 'writer' : undefined)
      }
    })

    it('purgeExpired deletes invitations expired or answered before retainUntil, keeps the rest, and counts them', async () => {
      // Clears what earlier tests left that is already purgeable, so the count below is this test's alone.
      await db.storage.purgeExpired(at(6000), at(5000))
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const answered = async (answer: 'accepted' | 'declined' | 'revoked', when: number, expiresAt = at(9000)) => {
        const invitation = await invite(collection, alice, { user: await newUser() }, { expiresAt })
        if (answer === 'revoked') await db.storage.revokeInvitation({ id: invitation.id, actorId: alice.id, at: at(when) })
        else await db.storage.answerInvitation({ id: invitation.id, answer, userId: invitation.inviteeUserId!, at: at(when) })
        return invitation.id
      }
      const gone = [
        (await invite(collection, alice, { email: 'expired-long-ago@example.com' }, { expiresAt: at(4000) })).id,
        await answered('accepted', 100),
        await answered('declined', 100),
        await answered('revoked', 100)
      ]
      const kept = [
        (await invite(collection, alice, { user: bob }, { expiresAt: at(9000) })).id,
        (await invite(collection, alice, { email: 'expired-lately@example.com' }, { expiresAt: at(5500) })).id,
        await answered('accepted', 5800)
      ]

      const purged = await db.storage.purgeExpired(at(6000), at(5000))
      expect(purged.deletedInvitations).toBe(gone.length)
      for (const id of gone) expect(await db.storage.getInvitation(id, at(6000))).toBeUndefined()
      for (const id of kept) expect(await db.storage.getInvitation(id, at(6000))).toBeDefined()
      expect((await db.storage.purgeExpired(at(6000), at(5000))).deletedInvitations).toBe(0)
    })
  })
}
