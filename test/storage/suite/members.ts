import { describe, expect, it } from 'vitest'
import type { Storage } from '../../../src/storage/index.js'
import type { RecordWrite, StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh, ids } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { sharingKit } from './sharing-kit.js'

/**
 * Members: who may see and write a collection (roles, checked inside the
 * write's transaction by requireRole), putMember and removeMember with what
 * they end (leases, batches, invitations), the last owner kept, membership
 * changes of one collection serialised, and what deleting a collection
 * removes of its sharing.
 */

export function membersTests(ctx: SuiteContext): void {
  describe('members', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, addMember, roleOf, ownersOf, invite, openBatch, stage, statusOf } = sharingKit(db)

    // -------------------------------------------------------------------------
    // Members and access
    // -------------------------------------------------------------------------

    it('createCollection makes its creator the one owner member', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const owner = { collectionId: collection.id, userId: alice.id, email: alice.email, role: 'owner', createdAt: at(1), updatedAt: at(1) }
      expect(await db.storage.getMember(collection.id, alice.id)).toEqual(owner)
      expect(await db.storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual({ total: 1, data: [owner] })
      expect(await db.storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
    })

    it("getCollectionAccess gives a member's role, no role to a non-member, and nothing for a missing collection", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const stranger = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'reader')
      const current = (await db.storage.getCollection(collection.id))!

      expect(await db.storage.getCollectionAccess(collection.id, alice.id)).toEqual({ collection: current, role: 'owner' })
      expect(await db.storage.getCollectionAccess(collection.id, bob.id)).toEqual({ collection: current, role: 'reader' })
      expect(await db.storage.getCollectionAccess(collection.id, stranger.id)).toEqual({ collection: current, role: undefined })
      expect(await db.storage.getCollectionAccess(fresh('missing'), alice.id)).toBeUndefined()
    })

    it("listCollections({memberId}) lists owned and shared collections with the member's role, by id, paged", async () => {
      const alice = await newUser()
      const bob = await newUser()
      // Ids chosen so that owned and shared collections interleave in id order.
      const base = fresh('listing')
      await newCollection(bob, `${base}-a`)
      await newCollection(bob, `${base}-c`)
      const shared = [await newCollection(alice, `${base}-b`), await newCollection(alice, `${base}-d`), await newCollection(alice, `${base}-e`)]
      await addMember(shared[0], bob, 'writer')
      await addMember(shared[1], bob, 'reader')
      await addMember(shared[2], bob, 'admin')
      await newCollection(alice) // not bob's

      const all = await db.storage.listCollections({ memberId: bob.id, limit: 100, skip: 0 })
      expect(all.total).toBe(5)
      expect(all.data.map((collection) => [collection.id, collection.role])).toEqual([
        [`${base}-a`, 'owner'],
        [`${base}-b`, 'writer'],
        [`${base}-c`, 'owner'],
        [`${base}-d`, 'reader'],
        [`${base}-e`, 'admin']
      ])
      expect(all.data[1]).toEqual({ ...(await db.storage.getCollection(shared[0].id))!, role: 'writer' })

      const pages = [
        await db.storage.listCollections({ memberId: bob.id, limit: 2, skip: 0 }),
        await db.storage.listCollections({ memberId: bob.id, limit: 2, skip: 2 }),
        await db.storage.listCollections({ memberId: bob.id, limit: 2, skip: 4 })
      ]
      expect(pages.map((page) => page.total)).toEqual([5, 5, 5])
      expect(pages.flatMap((page) => page.data)).toEqual(all.data)
      expect(await db.storage.listCollections({ memberId: bob.id, limit: 0, skip: 0 })).toEqual({ total: 5, data: [] })
    })

    it('a removed member no longer lists the collection nor has a role in it', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const kept = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      await addMember(kept, bob, 'writer')
      expect(ids((await db.storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).data).sort()).toEqual([collection.id, kept.id].sort())

      await db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(5) })
      expect(await db.storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toMatchObject({ total: 1, data: [{ id: kept.id, role: 'writer' }] })
      expect((await db.storage.getCollectionAccess(collection.id, bob.id))?.role).toBeUndefined()
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
      expect(await db.storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
    })

    it('listMembers orders by user id and pages with the total', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const others = [await newUser(), await newUser(), await newUser()]
      for (const user of others) await addMember(collection, user, 'reader')
      const expected = [alice, ...others].map((user) => user.id).sort()

      const all = await db.storage.listMembers(collection.id, { limit: 10, skip: 0 })
      expect(all.total).toBe(4)
      expect(all.data.map((member) => member.userId)).toEqual(expected)
      const second = await db.storage.listMembers(collection.id, { limit: 2, skip: 2 })
      expect(second).toEqual({ total: 4, data: all.data.slice(2) })
    })

    // -------------------------------------------------------------------------
    // putMember
    // -------------------------------------------------------------------------

    it('putMember adds a member: previousRole undefined', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const change = await addMember(collection, bob, 'writer', at(7))
      const member = { collectionId: collection.id, userId: bob.id, email: bob.email, role: 'writer', createdAt: at(7), updatedAt: at(7) }
      expect(change).toEqual({ member, previousRole: undefined, locks: [], revokedInvitations: [] })
      expect(await db.storage.getMember(collection.id, bob.id)).toEqual(member)
    })

    it('putMember changes a role: previousRole is the old one', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'reader', at(7))
      const change = await addMember(collection, bob, 'admin', at(8))
      expect(change.previousRole).toBe('reader')
      expect(change.member).toMatchObject({ userId: bob.id, role: 'admin', createdAt: at(7), updatedAt: at(8) })
      expect(await db.storage.getMember(collection.id, bob.id)).toEqual(change.member)
    })

    it("putMember onlyIf 'new' refuses an existing member: already-exists, role unchanged", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'reader')
      const before = await db.storage.getMember(collection.id, bob.id)
      await rejection(db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'admin', at: at(9), actorId: alice.id, onlyIf: 'new' }), 'already-exists')
      expect(await db.storage.getMember(collection.id, bob.id)).toEqual(before)
    })

    it("putMember onlyIf 'existing' refuses a non-member: not-found, nobody added", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await rejection(db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader', at: at(9), actorId: alice.id, onlyIf: 'existing' }), 'not-found')
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
    })

    it('putMember with an unknown user or a missing collection: not-found', async () => {
      const alice = await newUser()
      const collection = await newCollection(alice)
      const unknownUser = '00000000-0000-4000-8000-000000000000'
      await rejection(db.storage.putMember({ collectionId: collection.id, userId: unknownUser, role: 'reader', at: at(9), actorId: alice.id }), 'not-found')
      const missing = fresh('missing')
      await rejection(db.storage.putMember({ collectionId: missing, userId: alice.id, role: 'reader', at: at(9), actorId: alice.id }), 'not-found')
      expect(await db.storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
      expect(await db.storage.getCollection(missing)).toBeUndefined()
    })

    it('demoting the last owner: last-owner, and nothing changes', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'admin')
      const before = await db.storage.listMembers(collection.id, { limit: 10, skip: 0 })
      await rejection(addMember(collection, alice, 'admin', at(9)), 'last-owner')
      await rejection(db.storage.putMember({ collectionId: collection.id, userId: alice.id, role: 'reader', at: at(9), actorId: alice.id, onlyIf: 'existing' }), 'last-owner')
      expect(await db.storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual(before)
    })

    it('one of two owners can be demoted', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'owner')
      expect((await addMember(collection, alice, 'writer', at(9))).previousRole).toBe('owner')
      expect(await ownersOf(collection.id)).toEqual([bob.id])
      // Now bob is the last one.
      await rejection(addMember(collection, bob, 'writer', at(10), bob), 'last-owner')
    })

    // -------------------------------------------------------------------------
    // removeMember
    // -------------------------------------------------------------------------

    it('removing a non-member (or from a missing collection): not-found', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await rejection(db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(9) }), 'not-found')
      await rejection(db.storage.removeMember({ collectionId: fresh('missing'), userId: alice.id, actorId: alice.id, at: at(9) }), 'not-found')
    })

    it('removing the last owner: last-owner, and they stay; one of two owners can be removed', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await rejection(db.storage.removeMember({ collectionId: collection.id, userId: alice.id, actorId: alice.id, at: at(9) }), 'last-owner')
      expect(await roleOf(collection.id, alice.id)).toBe('owner')

      await addMember(collection, bob, 'owner')
      const before = await db.storage.getMember(collection.id, alice.id)
      const removal = await db.storage.removeMember({ collectionId: collection.id, userId: alice.id, actorId: alice.id, at: at(10) })
      expect(removal).toEqual({ member: before, locks: [], abortedBatches: [], revokedInvitations: [] })
      expect(await ownersOf(collection.id)).toEqual([bob.id])
      await rejection(db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: bob.id, at: at(11) }), 'last-owner')
    })

    it("removing a member releases their leases on that collection, and only theirs and only there", async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const elsewhere = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      await addMember(elsewhere, bob, 'writer')
      const lease = (collectionId: string, user: StoredUser, holder: string) =>
        db.storage.acquireLock({ collectionId, userId: user.id, holder, mode: 'shared', expiresAt: at(100), now: at(10) })
      const bobsLeases = [(await lease(collection.id, bob, 'laptop')).lock, (await lease(collection.id, bob, 'phone')).lock]
      const alicesLease = (await lease(collection.id, alice, 'desktop')).lock
      const bobsOtherLease = (await lease(elsewhere.id, bob, 'laptop')).lock

      const removal = await db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(20) })
      const byHolder = (a: { holder: string }, b: { holder: string }) => (a.holder < b.holder ? -1 : 1)
      expect([...removal.locks].sort(byHolder)).toEqual([...bobsLeases].sort(byHolder))
      expect(await db.storage.listLocks(collection.id, at(21))).toEqual([alicesLease])
      expect(await db.storage.listLocks(elsewhere.id, at(21))).toEqual([bobsOtherLease])

      await db.storage.releaseLock(collection.id, alice.id, 'desktop', at(22))
      await db.storage.releaseLock(elsewhere.id, bob.id, 'laptop', at(22))
    })

    it('removing a member aborts their open batches that staged on that collection, and no other batch', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      const elsewhere = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      await addMember(elsewhere, bob, 'writer')
      const bobsHere = await openBatch(bob)
      await stage(bobsHere, bob, [collection.id])
      const bobsMixed = await openBatch(bob)
      await stage(bobsMixed, bob, [elsewhere.id, collection.id])
      const bobsElsewhere = await openBatch(bob)
      await stage(bobsElsewhere, bob, [elsewhere.id])
      const bobsEmpty = await openBatch(bob)
      const alicesHere = await openBatch(alice)
      await stage(alicesHere, alice, [collection.id])

      const removal = await db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(20) })
      expect([...removal.abortedBatches].sort()).toEqual([bobsHere, bobsMixed].sort())
      for (const batchId of [bobsHere, bobsMixed]) {
        expect(await statusOf(batchId)).toBe('aborted')
        expect(await db.storage.listOperations(batchId)).toEqual([])
      }
      for (const batchId of [bobsElsewhere, bobsEmpty, alicesHere]) expect(await statusOf(batchId)).toBe('open')
      expect(await db.storage.listOperations(bobsElsewhere)).toHaveLength(1)
      expect(await db.storage.listOperations(alicesHere)).toHaveLength(1)

      for (const batchId of [bobsElsewhere, bobsEmpty]) await db.storage.abortBatch(batchId, bob.id, at(21))
      await db.storage.abortBatch(alicesHere, alice.id, at(21))
    })

    // -------------------------------------------------------------------------
    // Concurrency: membership changes of one collection serialise
    // -------------------------------------------------------------------------

    /**
     * Two owners of a fresh collection each take the other's ownership at
     * once: exactly one succeeds, and the other is refused inside its
     * transaction — 'forbidden' (its actor is no longer an owner) or
     * 'last-owner' (its target is the last one), whichever the rules check
     * first — so one owner is left.
     */
    const raceOwners = async (
      demote: (by: Storage, collectionId: string, target: StoredUser, actor: StoredUser) => Promise<unknown>,
      other: Storage = db.storage
    ): Promise<void> => {
      for (let round = 0; round < 5; round++) {
        const alice = await newUser()
        const bob = await newUser()
        const collection = await newCollection(alice)
        await addMember(collection, bob, 'owner')
        const results = await Promise.allSettled([demote(db.storage, collection.id, bob, alice), demote(other, collection.id, alice, bob)])
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        const failure = results.find((result) => result.status === 'rejected')
        expect(['forbidden', 'last-owner']).toContain((await rejection(Promise.reject(failure?.reason))).kind)
        expect(await ownersOf(collection.id)).toHaveLength(1)
      }
    }

    it('two owners demoting each other at once: exactly one succeeds, and one owner is left', async () => {
      await raceOwners((by, collectionId, target, actor) => by.putMember({ collectionId, userId: target.id, role: 'writer', at: at(30), actorId: actor.id }))
    })

    it('two owners removing each other at once: exactly one succeeds, and one owner is left', async () => {
      await raceOwners((by, collectionId, target, actor) => by.removeMember({ collectionId, userId: target.id, actorId: actor.id, at: at(30) }))
    })

    // Several server instances share one database on PostgreSQL and MongoDB.
    // Two SQLite connections in one process cannot race: better-sqlite3 waits
    // for a busy file synchronously, stalling the very event loop the other
    // connection needs to commit (one SQLite server process per database file).
    const severalInstances = ctx.capabilities.backend !== 'sqlite'
    if (!severalInstances) console.info(`[storage conformance] ${ctx.capabilities.backend}: the two-instance race runs on PostgreSQL and MongoDB only (one process per SQLite file)`)
    it.runIf(severalInstances)('two owners demoting and removing each other through two storage instances on one database: one owner is left', async () => {
      const other = db.open()
      try {
        await raceOwners(
          (by, collectionId, target, actor) =>
            by === db.storage
              ? by.putMember({ collectionId, userId: target.id, role: 'reader', at: at(30), actorId: actor.id })
              : by.removeMember({ collectionId, userId: target.id, actorId: actor.id, at: at(30) }),
          other
        )
      } finally {
        await other.close()
      }
    })

    it('made a reader, a member loses their exclusive leases on the collection (returned), not their shared ones', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      const now = at(40)
      const exclusive = await db.storage.acquireLock({ collectionId: collection.id, userId: bob.id, holder: 'laptop', mode: 'exclusive', expiresAt: at(400), now })
      const change = await db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader', at: at(41), actorId: alice.id })
      expect(change.locks).toEqual([exclusive.lock])
      expect(await db.storage.listLocks(collection.id, at(42))).toEqual([])
      const shared = await db.storage.acquireLock({ collectionId: collection.id, userId: bob.id, holder: 'phone', mode: 'shared', expiresAt: at(400), now: at(43) })
      await db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'writer', at: at(44), actorId: alice.id })
      expect((await db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader', at: at(45), actorId: alice.id })).locks).toEqual([])
      expect(await db.storage.listLocks(collection.id, at(46))).toEqual([shared.lock])
      await db.storage.releaseLock(collection.id, bob.id, 'phone', at(47))
    })

    // Writes with requireRole: the role is checked inside the write's transaction.

    it('requireRole: writers and above write; a reader is refused with their role, a non-member without one; nothing changes', async () => {
      const alice = await newUser()
      const reader = await newUser()
      const stranger = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, reader, 'reader')
      const write = (actor: StoredUser, record: Partial<RecordWrite> = {}) =>
        db.storage.commitWrites([{ op: 'create', collectionId: collection.id, id: fresh('record'), data: 1, ...record } as RecordWrite], {
          actor: actor.id,
          at: at(50),
          requireRole: 'writer'
        })
      const [created] = (await write(alice, { id: 'r1' })).records
      const before = (await db.storage.getCollection(collection.id))!.seq

      for (const [who, role] of [[reader, 'reader'], [stranger, undefined]] as const) {
        // The single-update fast path, a create, and a multi-record write.
        const update: Partial<RecordWrite> = { op: 'update', id: 'r1', data: 2, baseVersion: created.version }
        const attempts = [
          () => write(who, update),
          () => write(who),
          () =>
            db.storage.commitWrites(
              [
                { op: 'create', collectionId: collection.id, id: fresh('a'), data: 1 },
                { op: 'create', collectionId: collection.id, id: fresh('b'), data: 1 }
              ],
              { actor: who.id, at: at(51), requireRole: 'writer' }
            )
        ]
        // One at a time, each awaited as it starts: a rejection is never left unhandled.
        for (const attempt of attempts) {
          const error = await rejection(attempt(), 'forbidden')
          expect(error.access).toEqual({ collectionId: collection.id, role, needs: 'writer' })
        }
      }
      expect(await db.storage.getRecord(collection.id, 'r1')).toEqual(created)
      expect((await db.storage.getCollection(collection.id))!.seq).toBe(before)

      // A collection that does not exist is refused the same way as one the author is not a member of.
      const missing = fresh('missing')
      const error = await rejection(
        db.storage.commitWrites([{ op: 'create', collectionId: missing, id: 'x', data: 1 }], { actor: alice.id, at: at(52), requireRole: 'writer' }),
        'forbidden'
      )
      expect(error.access).toEqual({ collectionId: missing, role: undefined, needs: 'writer' })

      // Without requireRole, storage leaves access to the caller.
      expect((await db.storage.commitWrites([{ op: 'update', collectionId: collection.id, id: 'r1', data: 3, baseVersion: created.version }], { actor: stranger.id, at: at(52) })).records[0].version).toBe(2)
    })

    it('requireRole: a member removed or demoted a moment ago cannot write any more, nor commit what they staged', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      const context = { actor: bob.id, at: at(60), requireRole: 'writer' as const }
      const [record] = (await db.storage.commitWrites([{ op: 'create', collectionId: collection.id, id: 'r1', data: 1 }], context)).records

      const batchId = await openBatch(bob)
      await stage(batchId, bob, [collection.id])
      await db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader', at: at(61), actorId: alice.id })
      await rejection(db.storage.commitBatch(batchId, { userId: bob.id, conditions: [], context }), 'forbidden')
      expect(await statusOf(batchId)).toBe('open')
      await db.storage.abortBatch(batchId, bob.id, at(62))

      await db.storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'writer', at: at(63), actorId: alice.id })
      await db.storage.removeMember({ collectionId: collection.id, userId: bob.id, actorId: alice.id, at: at(64) })
      const error = await rejection(db.storage.commitWrites([{ op: 'update', collectionId: collection.id, id: 'r1', data: 2, baseVersion: record.version }], context), 'forbidden')
      expect(error.access?.role).toBeUndefined()
      expect(await db.storage.getRecord(collection.id, 'r1')).toEqual(record)
    })


    // -------------------------------------------------------------------------
    // Deleting a collection
    // -------------------------------------------------------------------------

    it('deleting a collection removes its members and invitations; re-created, it starts with only its new owner', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const carol = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'writer')
      const invitation = await invite(collection, alice, { user: carol })
      const kept = await newCollection(alice)
      const keptInvitation = await invite(kept, alice, { user: carol })

      await db.storage.deleteCollection({ id: collection.id, actorId: alice.id })
      expect(ids((await db.storage.listCollections({ memberId: alice.id, limit: 10, skip: 0 })).data)).toEqual([kept.id])
      expect(await db.storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
      expect(await db.storage.getMember(collection.id, bob.id)).toBeUndefined()
      expect(await db.storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
      expect(await db.storage.getInvitation(invitation.id, at(20))).toBeUndefined()
      expect((await db.storage.listInvitations({ invitee: { userId: carol.id, email: carol.email }, now: at(20), limit: 10, skip: 0 })).data).toEqual([keptInvitation])

      await db.storage.createCollection({ id: collection.id, name: null, ownerId: carol.id }, at(30))
      expect(await db.storage.listMemberRoles(collection.id)).toEqual([{ userId: carol.id, role: 'owner' }])
      expect(await db.storage.listInvitations({ collectionId: collection.id, now: at(30), limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    })
  })
}
