import { afterAll, beforeAll, expect, it } from 'vitest'
import { createStorage, type Storage } from '../../src/storage/index.js'
import type {
  BatchLimits,
  RecordWrite,
  MemberRole,
  NewInvitation,
  StoredCollection,
  StoredInvitation,
  StoredUser
} from '../../src/storage/types.js'
import { rejection } from '../helpers/storage.js'
import { describeBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * The storage conformance suite, part four: sharing (collection members with
 * roles, and invitations), through the Storage interface only, bound to
 * every backend.
 */

const T0 = Date.UTC(2026, 0, 1)
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString()
const LIMITS: BatchLimits = { maxOperations: 10, maxBytes: 10_000, maxOpenPerUser: 100, maxStagedBytesPerUser: 100_000 }

const ids = (items: Array<{ id: string }>): string[] => items.map((item) => item.id)

describeBackends('storage conformance: sharing', (backend) => {
  let database: TestDatabase
  let storage: Storage
  let counter = 0
  const fresh = (prefix: string) => `${prefix}-${++counter}`

  beforeAll(async () => {
    database = await backend.create()
    storage = createStorage(database.databaseUrl, database.dataDir)
    await storage.migrate()
  })
  afterAll(async () => {
    await storage?.close()
    await database?.cleanup()
  })

  // Users and collections are fresh in every test, so lists hold only what the test made.

  const newUser = (): Promise<StoredUser> => storage.createUser({ email: `${fresh('sharer')}@example.com`, password: 'x' }, at(0))

  const newCollection = (owner: StoredUser, id = fresh('shared')): Promise<StoredCollection> =>
    storage.createCollection({ id, name: null, ownerId: owner.id }, at(1))

  const addMember = (collection: StoredCollection, user: StoredUser, role: MemberRole, when = at(2)) =>
    storage.putMember({ collectionId: collection.id, userId: user.id, role }, when)

  const roleOf = async (collectionId: string, userId: string): Promise<MemberRole | undefined> =>
    (await storage.getMember(collectionId, userId))?.role

  const ownersOf = async (collectionId: string): Promise<string[]> =>
    (await storage.listMemberRoles(collectionId)).filter((member) => member.role === 'owner').map((member) => member.userId)

  /** An invitation to a user (by id) or to an e-mail address, writer unless said, pending until at(1000). */
  const invite = (
    collection: { id: string },
    invitedBy: StoredUser,
    invitee: { user: StoredUser } | { email: string },
    extra: Partial<NewInvitation> = {},
    when = at(10)
  ): Promise<StoredInvitation> =>
    storage.createInvitation(
      {
        id: fresh('invitation'),
        collectionId: collection.id,
        role: 'writer',
        inviteeUserId: 'user' in invitee ? invitee.user.id : null,
        inviteeEmail: 'email' in invitee ? invitee.email : null,
        invitedBy: invitedBy.id,
        expiresAt: at(1000),
        ...extra
      },
      when
    )

  const openBatch = async (user: StoredUser): Promise<string> =>
    (await storage.openBatch({ id: fresh('batch'), userId: user.id, expiresAt: at(3600), declaredOperations: null, declaredBytes: null }, LIMITS, at(3))).batch.id

  const stage = (batchId: string, user: StoredUser, collectionIds: string[]) =>
    storage.stageOperations(batchId, {
      userId: user.id,
      operations: collectionIds.map((collectionId) => ({ op: 'put' as const, collectionId, id: fresh('record'), data: 1, baseVersion: null })),
      limits: LIMITS,
      now: at(4)
    })

  const statusOf = async (batchId: string): Promise<string | undefined> => (await storage.getBatch(batchId, at(5)))?.status

  // -------------------------------------------------------------------------
  // Members and access
  // -------------------------------------------------------------------------

  it('createCollection makes its creator the one owner member', async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    const owner = { collectionId: collection.id, userId: alice.id, email: alice.email, role: 'owner', createdAt: at(1), updatedAt: at(1) }
    expect(await storage.getMember(collection.id, alice.id)).toEqual(owner)
    expect(await storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual({ total: 1, data: [owner] })
    expect(await storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
  })

  it("getCollectionAccess gives a member's role, no role to a non-member, and nothing for a missing collection", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const stranger = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'reader')
    const current = (await storage.getCollection(collection.id))!

    expect(await storage.getCollectionAccess(collection.id, alice.id)).toEqual({ collection: current, role: 'owner' })
    expect(await storage.getCollectionAccess(collection.id, bob.id)).toEqual({ collection: current, role: 'reader' })
    expect(await storage.getCollectionAccess(collection.id, stranger.id)).toEqual({ collection: current, role: undefined })
    expect(await storage.getCollectionAccess(fresh('missing'), alice.id)).toBeUndefined()
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

    const all = await storage.listCollections({ memberId: bob.id, limit: 100, skip: 0 })
    expect(all.total).toBe(5)
    expect(all.data.map((collection) => [collection.id, collection.role])).toEqual([
      [`${base}-a`, 'owner'],
      [`${base}-b`, 'writer'],
      [`${base}-c`, 'owner'],
      [`${base}-d`, 'reader'],
      [`${base}-e`, 'admin']
    ])
    expect(all.data[1]).toEqual({ ...(await storage.getCollection(shared[0].id))!, role: 'writer' })

    const pages = [
      await storage.listCollections({ memberId: bob.id, limit: 2, skip: 0 }),
      await storage.listCollections({ memberId: bob.id, limit: 2, skip: 2 }),
      await storage.listCollections({ memberId: bob.id, limit: 2, skip: 4 })
    ]
    expect(pages.map((page) => page.total)).toEqual([5, 5, 5])
    expect(pages.flatMap((page) => page.data)).toEqual(all.data)
    expect(await storage.listCollections({ memberId: bob.id, limit: 0, skip: 0 })).toEqual({ total: 5, data: [] })
  })

  it('a removed member no longer lists the collection nor has a role in it', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const kept = await newCollection(alice)
    await addMember(collection, bob, 'writer')
    await addMember(kept, bob, 'writer')
    expect(ids((await storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).data).sort()).toEqual([collection.id, kept.id].sort())

    await storage.removeMember(collection.id, bob.id, at(5))
    expect(await storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toMatchObject({ total: 1, data: [{ id: kept.id, role: 'writer' }] })
    expect((await storage.getCollectionAccess(collection.id, bob.id))?.role).toBeUndefined()
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
    expect(await storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
  })

  it('listMembers orders by user id and pages with the total', async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    const others = [await newUser(), await newUser(), await newUser()]
    for (const user of others) await addMember(collection, user, 'reader')
    const expected = [alice, ...others].map((user) => user.id).sort()

    const all = await storage.listMembers(collection.id, { limit: 10, skip: 0 })
    expect(all.total).toBe(4)
    expect(all.data.map((member) => member.userId)).toEqual(expected)
    const second = await storage.listMembers(collection.id, { limit: 2, skip: 2 })
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
    expect(await storage.getMember(collection.id, bob.id)).toEqual(member)
  })

  it('putMember changes a role: previousRole is the old one', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'reader', at(7))
    const change = await addMember(collection, bob, 'admin', at(8))
    expect(change.previousRole).toBe('reader')
    expect(change.member).toMatchObject({ userId: bob.id, role: 'admin', createdAt: at(7), updatedAt: at(8) })
    expect(await storage.getMember(collection.id, bob.id)).toEqual(change.member)
  })

  it("putMember onlyIf 'new' refuses an existing member: already-exists, role unchanged", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'reader')
    const before = await storage.getMember(collection.id, bob.id)
    await rejection(storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'admin' }, at(9), 'new'), 'already-exists')
    expect(await storage.getMember(collection.id, bob.id)).toEqual(before)
  })

  it("putMember onlyIf 'existing' refuses a non-member: not-found, nobody added", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await rejection(storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader' }, at(9), 'existing'), 'not-found')
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
  })

  it('putMember with an unknown user or a missing collection: not-found', async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    const unknownUser = '00000000-0000-4000-8000-000000000000'
    await rejection(storage.putMember({ collectionId: collection.id, userId: unknownUser, role: 'reader' }, at(9)), 'not-found')
    const missing = fresh('missing')
    await rejection(storage.putMember({ collectionId: missing, userId: alice.id, role: 'reader' }, at(9)), 'not-found')
    expect(await storage.listMemberRoles(collection.id)).toEqual([{ userId: alice.id, role: 'owner' }])
    expect(await storage.getCollection(missing)).toBeUndefined()
  })

  it('demoting the last owner: last-owner, and nothing changes', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'admin')
    const before = await storage.listMembers(collection.id, { limit: 10, skip: 0 })
    await rejection(addMember(collection, alice, 'admin', at(9)), 'last-owner')
    await rejection(storage.putMember({ collectionId: collection.id, userId: alice.id, role: 'reader' }, at(9), 'existing'), 'last-owner')
    expect(await storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual(before)
  })

  it('one of two owners can be demoted', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'owner')
    expect((await addMember(collection, alice, 'writer', at(9))).previousRole).toBe('owner')
    expect(await ownersOf(collection.id)).toEqual([bob.id])
    // Now bob is the last one.
    await rejection(addMember(collection, bob, 'writer', at(10)), 'last-owner')
  })

  // -------------------------------------------------------------------------
  // removeMember
  // -------------------------------------------------------------------------

  it('removing a non-member (or from a missing collection): not-found', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await rejection(storage.removeMember(collection.id, bob.id, at(9)), 'not-found')
    await rejection(storage.removeMember(fresh('missing'), alice.id, at(9)), 'not-found')
  })

  it('removing the last owner: last-owner, and they stay; one of two owners can be removed', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await rejection(storage.removeMember(collection.id, alice.id, at(9)), 'last-owner')
    expect(await roleOf(collection.id, alice.id)).toBe('owner')

    await addMember(collection, bob, 'owner')
    const before = await storage.getMember(collection.id, alice.id)
    const removal = await storage.removeMember(collection.id, alice.id, at(10))
    expect(removal).toEqual({ member: before, locks: [], abortedBatches: [], revokedInvitations: [] })
    expect(await ownersOf(collection.id)).toEqual([bob.id])
    await rejection(storage.removeMember(collection.id, bob.id, at(11)), 'last-owner')
  })

  it("removing a member releases their leases on that collection, and only theirs and only there", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const elsewhere = await newCollection(alice)
    await addMember(collection, bob, 'writer')
    await addMember(elsewhere, bob, 'writer')
    const lease = (collectionId: string, user: StoredUser, holder: string) =>
      storage.acquireLock({ collectionId, userId: user.id, holder, mode: 'shared', expiresAt: at(100), now: at(10) })
    const bobsLeases = [(await lease(collection.id, bob, 'laptop')).lock, (await lease(collection.id, bob, 'phone')).lock]
    const alicesLease = (await lease(collection.id, alice, 'desktop')).lock
    const bobsOtherLease = (await lease(elsewhere.id, bob, 'laptop')).lock

    const removal = await storage.removeMember(collection.id, bob.id, at(20))
    const byHolder = (a: { holder: string }, b: { holder: string }) => (a.holder < b.holder ? -1 : 1)
    expect([...removal.locks].sort(byHolder)).toEqual([...bobsLeases].sort(byHolder))
    expect(await storage.listLocks(collection.id, at(21))).toEqual([alicesLease])
    expect(await storage.listLocks(elsewhere.id, at(21))).toEqual([bobsOtherLease])

    await storage.releaseLock(collection.id, alice.id, 'desktop', at(22))
    await storage.releaseLock(elsewhere.id, bob.id, 'laptop', at(22))
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

    const removal = await storage.removeMember(collection.id, bob.id, at(20))
    expect([...removal.abortedBatches].sort()).toEqual([bobsHere, bobsMixed].sort())
    for (const batchId of [bobsHere, bobsMixed]) {
      expect(await statusOf(batchId)).toBe('aborted')
      expect(await storage.listOperations(batchId)).toEqual([])
    }
    for (const batchId of [bobsElsewhere, bobsEmpty, alicesHere]) expect(await statusOf(batchId)).toBe('open')
    expect(await storage.listOperations(bobsElsewhere)).toHaveLength(1)
    expect(await storage.listOperations(alicesHere)).toHaveLength(1)

    for (const batchId of [bobsElsewhere, bobsEmpty]) await storage.abortBatch(batchId, bob.id, at(21))
    await storage.abortBatch(alicesHere, alice.id, at(21))
  })

  // -------------------------------------------------------------------------
  // Concurrency: membership changes of one collection serialise
  // -------------------------------------------------------------------------

  /** Two owners of a fresh collection each try to take the other's ownership at once; one must fail with last-owner. */
  const raceOwners = async (
    demote: (collectionId: string, target: StoredUser, by: Storage) => Promise<unknown>,
    other: Storage = storage
  ): Promise<void> => {
    for (let round = 0; round < 5; round++) {
      const alice = await newUser()
      const bob = await newUser()
      const collection = await newCollection(alice)
      await addMember(collection, bob, 'owner')
      const results = await Promise.allSettled([demote(collection.id, bob, storage), demote(collection.id, alice, other)])
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      const failure = results.find((result) => result.status === 'rejected')
      await rejection(Promise.reject(failure?.reason), 'last-owner')
      expect(await ownersOf(collection.id)).toHaveLength(1)
    }
  }

  it('two owners demoting each other at once: exactly one succeeds, and one owner is left', async () => {
    await raceOwners((collectionId, target, by) => by.putMember({ collectionId, userId: target.id, role: 'writer' }, at(30)))
  })

  it('two owners removing each other at once: exactly one succeeds, and one owner is left', async () => {
    await raceOwners((collectionId, target, by) => by.removeMember(collectionId, target.id, at(30)))
  })

  // Several server instances share one database on PostgreSQL. Two SQLite
  // connections in one process cannot race: better-sqlite3 waits for a busy
  // file synchronously, stalling the very event loop the other connection
  // needs to commit (one SQLite server process per database file).
  const severalInstances = backend.name === 'postgres'
  if (!severalInstances) console.info(`[sharing conformance] ${backend.name}: the two-instance race runs on PostgreSQL only (one process per SQLite file)`)
  it.runIf(severalInstances)('two owners demoting and removing each other through two storage instances on one database: one owner is left', async () => {
    const other = createStorage(database.databaseUrl, database.dataDir)
    try {
      await raceOwners(
        (collectionId, target, by) =>
          by === storage ? by.putMember({ collectionId, userId: target.id, role: 'reader' }, at(30)) : by.removeMember(collectionId, target.id, at(30)),
        other
      )
    } finally {
      await other.close()
    }
  })

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
      answeredAt: null
    })
    const byId = await invite(collection, alice, { user: bob })
    expect(byId).toMatchObject({ inviteeUserId: bob.id, inviteeEmail: null, role: 'writer', status: 'pending' })

    expect(await storage.getInvitation(byEmail.id, at(11))).toEqual(byEmail)
    expect(await storage.getInvitation(byId.id, at(11))).toEqual(byId)
    expect(await storage.getInvitation(fresh('no-such-invitation'), at(11))).toBeUndefined()

    // They carry the collection's name as it is now: the invitee cannot read the collection yet.
    await storage.renameCollection(collection.id, 'Pets', at(12))
    expect((await storage.getInvitation(byId.id, at(13)))?.collectionName).toBe('Pets')
    const [listed] = (await storage.listInvitations({ invitee: { userId: bob.id, email: bob.email }, now: at(13), limit: 10, skip: 0 })).data
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
    expect(await storage.getInvitation(first, at(11))).toBeUndefined()
    expect(await storage.getInvitation(second, at(11))).toBeUndefined()
    expect(await storage.listInvitations({ collectionId: collection.id, now: at(11), limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
  })

  it("a pending invitation reads as 'expired' once now passes expiresAt", async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { email: 'late@example.com' }, { expiresAt: at(100) })
    expect((await storage.getInvitation(invitation.id, at(99)))!.status).toBe('pending')
    expect(await storage.getInvitation(invitation.id, at(101))).toEqual({ ...invitation, status: 'expired' })
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

    const all = await storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 10, skip: 0 })
    expect(all).toEqual({ total: 3, data: [...made].reverse() })
    expect(await storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 2, skip: 1 })).toEqual({ total: 3, data: [made[1], made[0]] })
    expect(await storage.listInvitations({ collectionId: collection.id, now: at(20), limit: 0, skip: 0 })).toEqual({ total: 3, data: [] })
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

    const bobs = await storage.listInvitations({ invitee: { userId: bob.id, email: bob.email }, now: at(20), limit: 10, skip: 0 })
    expect(bobs).toEqual({ total: 2, data: [byEmail, byId] })
    const onlyOne = await storage.listInvitations({ collectionId: one.id, invitee: { userId: bob.id, email: bob.email }, now: at(20), limit: 10, skip: 0 })
    expect(onlyOne).toEqual({ total: 1, data: [byId] })
  })

  it("lists by status: 'pending' leaves out expired ones, 'expired' lists only those, answered ones by their status", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const pending = await invite(collection, alice, { email: 'waiting@example.com' }, { expiresAt: at(1000) }, at(10))
    const expired = await invite(collection, alice, { email: 'too-late@example.com' }, { expiresAt: at(50) }, at(11))
    const declined = await invite(collection, alice, { user: bob }, {}, at(12))
    await storage.answerInvitation(declined.id, 'declined', bob.id, at(13))

    const list = async (status: StoredInvitation['status']) =>
      ids((await storage.listInvitations({ collectionId: collection.id, status, now: at(100), limit: 10, skip: 0 })).data)
    expect(await list('pending')).toEqual([pending.id])
    expect(await list('expired')).toEqual([expired.id])
    expect(await list('declined')).toEqual([declined.id])
    expect(await list('accepted')).toEqual([])
    // Before its expiry the same invitation counts as pending.
    const early = await storage.listInvitations({ collectionId: collection.id, status: 'pending', now: at(20), limit: 10, skip: 0 })
    expect(ids(early.data)).toEqual([expired.id, pending.id])
    expect((await storage.listInvitations({ collectionId: collection.id, status: 'expired', now: at(100), limit: 10, skip: 0 })).data[0].status).toBe('expired')
  })

  it('accepting makes the answering user a member with the invited role; an e-mail invitation learns their id', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { email: bob.email }, { role: 'admin' })

    const answer = await storage.answerInvitation(invitation.id, 'accepted', bob.id, at(20))
    expect(answer.invitation).toEqual({ ...invitation, status: 'accepted', answeredAt: at(20), inviteeUserId: bob.id })
    expect(answer.change).toEqual({
      member: { collectionId: collection.id, userId: bob.id, email: bob.email, role: 'admin', createdAt: at(20), updatedAt: at(20) },
      previousRole: undefined,
      locks: [],
      revokedInvitations: []
    })
    expect(await storage.getInvitation(invitation.id, at(21))).toEqual(answer.invitation)
    expect(await roleOf(collection.id, bob.id)).toBe('admin')
    expect((await storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).data).toMatchObject([{ id: collection.id, role: 'admin' }])
  })

  it("accepting as a member already changes their role: previousRole is the old one", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'reader')
    const invitation = await invite(collection, alice, { user: bob }, { role: 'writer' })
    const answer = await storage.answerInvitation(invitation.id, 'accepted', bob.id, at(20))
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
    expect((await storage.getInvitation(byId.id, at(31)))?.status).toBe('revoked')
    expect((await storage.getInvitation(byEmail.id, at(31)))?.status).toBe('revoked')
    expect((await storage.getInvitation(elsewhere.id, at(31)))?.status).toBe('pending')
    expect((await storage.getInvitation(carols.id, at(31)))?.status).toBe('pending')
    // A demoted member cannot undo the demotion with an older invitation.
    await rejection(storage.answerInvitation(byId.id, 'accepted', bob.id, at(32)), 'closed')
    expect(await roleOf(collection.id, bob.id)).toBe('reader')

    const later = await invite(collection, alice, { user: bob }, { role: 'admin' }, at(33))
    const removal = await storage.removeMember(collection.id, bob.id, at(34))
    expect(removal.revokedInvitations.map((invitation) => invitation.id)).toEqual([later.id])
    expect((await storage.getInvitation(later.id, at(35)))?.status).toBe('revoked')
  })

  it('made a reader, a member loses their exclusive leases on the collection (returned), not their shared ones', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'writer')
    const now = at(40)
    const exclusive = await storage.acquireLock({ collectionId: collection.id, userId: bob.id, holder: 'laptop', mode: 'exclusive', expiresAt: at(400), now })
    const change = await storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader' }, at(41))
    expect(change.locks).toEqual([exclusive.lock])
    expect(await storage.listLocks(collection.id, at(42))).toEqual([])
    const shared = await storage.acquireLock({ collectionId: collection.id, userId: bob.id, holder: 'phone', mode: 'shared', expiresAt: at(400), now: at(43) })
    await storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'writer' }, at(44))
    expect((await storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader' }, at(45))).locks).toEqual([])
    expect(await storage.listLocks(collection.id, at(46))).toEqual([shared.lock])
    await storage.releaseLock(collection.id, bob.id, 'phone', at(47))
  })

  // Writes with requireRole: the role is checked inside the write's transaction.

  it('requireRole: writers and above write; a reader is refused with their role, a non-member without one; nothing changes', async () => {
    const alice = await newUser()
    const reader = await newUser()
    const stranger = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, reader, 'reader')
    const write = (actor: StoredUser, record: Partial<RecordWrite> = {}) =>
      storage.commitWrites([{ op: 'create', collectionId: collection.id, id: fresh('record'), data: 1, ...record } as RecordWrite], {
        actor: actor.id,
        at: at(50),
        requireRole: 'writer'
      })
    const [created] = (await write(alice, { id: 'r1' })).records
    const before = (await storage.getCollection(collection.id))!.seq

    for (const [who, role] of [[reader, 'reader'], [stranger, undefined]] as const) {
      // The single-update fast path, a create, and a multi-record write.
      const update: Partial<RecordWrite> = { op: 'update', id: 'r1', data: 2, baseVersion: created.version }
      const attempts = [
        () => write(who, update),
        () => write(who),
        () =>
          storage.commitWrites(
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
    expect(await storage.getRecord(collection.id, 'r1')).toEqual(created)
    expect((await storage.getCollection(collection.id))!.seq).toBe(before)

    // A collection that does not exist is refused the same way as one the author is not a member of.
    const missing = fresh('missing')
    const error = await rejection(
      storage.commitWrites([{ op: 'create', collectionId: missing, id: 'x', data: 1 }], { actor: alice.id, at: at(52), requireRole: 'writer' }),
      'forbidden'
    )
    expect(error.access).toEqual({ collectionId: missing, role: undefined, needs: 'writer' })

    // Without requireRole, storage leaves access to the caller.
    expect((await storage.commitWrites([{ op: 'update', collectionId: collection.id, id: 'r1', data: 3, baseVersion: created.version }], { actor: stranger.id, at: at(52) })).records[0].version).toBe(2)
  })

  it('requireRole: a member removed or demoted a moment ago cannot write any more, nor commit what they staged', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    await addMember(collection, bob, 'writer')
    const context = { actor: bob.id, at: at(60), requireRole: 'writer' as const }
    const [record] = (await storage.commitWrites([{ op: 'create', collectionId: collection.id, id: 'r1', data: 1 }], context)).records

    const batchId = await openBatch(bob)
    await stage(batchId, bob, [collection.id])
    await storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'reader' }, at(61))
    await rejection(storage.commitBatch(batchId, { userId: bob.id, conditions: [], context }), 'forbidden')
    expect(await statusOf(batchId)).toBe('open')
    await storage.abortBatch(batchId, bob.id, at(62))

    await storage.putMember({ collectionId: collection.id, userId: bob.id, role: 'writer' }, at(63))
    await storage.removeMember(collection.id, bob.id, at(64))
    const error = await rejection(storage.commitWrites([{ op: 'update', collectionId: collection.id, id: 'r1', data: 2, baseVersion: record.version }], context), 'forbidden')
    expect(error.access?.role).toBeUndefined()
    expect(await storage.getRecord(collection.id, 'r1')).toEqual(record)
  })

  it('declining records the answer and adds nobody', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { user: bob })
    const answer = await storage.answerInvitation(invitation.id, 'declined', bob.id, at(20))
    expect(answer.change).toBeUndefined()
    expect(answer.invitation).toMatchObject({ status: 'declined', answeredAt: at(20) })
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
    expect(await storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
  })

  it("answering or revoking an invitation that is no longer pending: closed, with its status", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const accepted = await invite(collection, alice, { user: bob })
    await storage.answerInvitation(accepted.id, 'accepted', bob.id, at(20))
    const declined = await invite(collection, alice, { user: bob })
    await storage.answerInvitation(declined.id, 'declined', bob.id, at(20))
    const revoked = await invite(collection, alice, { user: bob })
    await storage.revokeInvitation(revoked.id, at(20))

    for (const [invitation, status] of [[accepted, 'accepted'], [declined, 'declined'], [revoked, 'revoked']] as const) {
      expect((await rejection(storage.answerInvitation(invitation.id, 'accepted', bob.id, at(30)), 'closed')).status).toBe(status)
      expect((await rejection(storage.answerInvitation(invitation.id, 'declined', bob.id, at(30)), 'closed')).status).toBe(status)
      expect((await rejection(storage.revokeInvitation(invitation.id, at(30)), 'closed')).status).toBe(status)
      expect((await storage.getInvitation(invitation.id, at(30)))!).toMatchObject({ status, answeredAt: at(20) })
    }
  })

  it("accepting (or revoking) an expired invitation: closed with status 'expired', nobody added", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { user: bob }, { expiresAt: at(100) })
    expect((await rejection(storage.answerInvitation(invitation.id, 'accepted', bob.id, at(101)), 'closed')).status).toBe('expired')
    expect((await rejection(storage.revokeInvitation(invitation.id, at(101)), 'closed')).status).toBe('expired')
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
  })

  it('answering or revoking an unknown invitation: not-found', async () => {
    const bob = await newUser()
    await rejection(storage.answerInvitation(fresh('no-such-invitation'), 'accepted', bob.id, at(20)), 'not-found')
    await rejection(storage.revokeInvitation(fresh('no-such-invitation'), at(20)), 'not-found')
  })

  it('accepting where it would demote the last owner: last-owner, and the invitation stays pending', async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { user: alice }, { role: 'reader' })
    await rejection(storage.answerInvitation(invitation.id, 'accepted', alice.id, at(20)), 'last-owner')
    expect(await storage.getInvitation(invitation.id, at(21))).toEqual(invitation)
    expect(await ownersOf(collection.id)).toEqual([alice.id])
  })

  it('revokeInvitation withdraws a pending invitation, which can then not be accepted', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const invitation = await invite(collection, alice, { email: bob.email })
    const revoked = await storage.revokeInvitation(invitation.id, at(20))
    expect(revoked).toEqual({ ...invitation, status: 'revoked', answeredAt: at(20) })
    expect(await storage.getInvitation(invitation.id, at(21))).toEqual(revoked)
    await rejection(storage.answerInvitation(invitation.id, 'accepted', bob.id, at(22)), 'closed')
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
  })

  it('accepting, declining and revoking one invitation at once: exactly one wins, and membership follows it', async () => {
    const alice = await newUser()
    const collection = await newCollection(alice)
    for (let round = 0; round < 5; round++) {
      const bob = await newUser()
      const invitation = await invite(collection, alice, { user: bob })
      const results = await Promise.allSettled([
        storage.answerInvitation(invitation.id, 'accepted', bob.id, at(20)),
        storage.answerInvitation(invitation.id, 'declined', bob.id, at(20)),
        storage.revokeInvitation(invitation.id, at(20))
      ])
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results) if (result.status === 'rejected') await rejection(Promise.reject(result.reason), 'closed')
      const final = (await storage.getInvitation(invitation.id, at(21)))!
      expect(await roleOf(collection.id, bob.id)).toBe(final.status === 'accepted' ? 'writer' : undefined)
    }
  })

  it('purgeExpired deletes invitations expired or answered before retainUntil, keeps the rest, and counts them', async () => {
    // Clears what earlier tests left that is already purgeable, so the count below is this test's alone.
    await storage.purgeExpired(at(6000), at(5000))
    const alice = await newUser()
    const bob = await newUser()
    const collection = await newCollection(alice)
    const answered = async (answer: 'accepted' | 'declined' | 'revoked', when: number, expiresAt = at(9000)) => {
      const invitation = await invite(collection, alice, { user: await newUser() }, { expiresAt })
      if (answer === 'revoked') await storage.revokeInvitation(invitation.id, at(when))
      else await storage.answerInvitation(invitation.id, answer, invitation.inviteeUserId!, at(when))
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

    const purged = await storage.purgeExpired(at(6000), at(5000))
    expect(purged.deletedInvitations).toBe(gone.length)
    for (const id of gone) expect(await storage.getInvitation(id, at(6000))).toBeUndefined()
    for (const id of kept) expect(await storage.getInvitation(id, at(6000))).toBeDefined()
    expect((await storage.purgeExpired(at(6000), at(5000))).deletedInvitations).toBe(0)
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

    await storage.deleteCollection(collection.id)
    expect(ids((await storage.listCollections({ memberId: alice.id, limit: 10, skip: 0 })).data)).toEqual([kept.id])
    expect(await storage.listCollections({ memberId: bob.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    expect(await storage.getMember(collection.id, bob.id)).toBeUndefined()
    expect(await storage.listMembers(collection.id, { limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    expect(await storage.getInvitation(invitation.id, at(20))).toBeUndefined()
    expect((await storage.listInvitations({ invitee: { userId: carol.id, email: carol.email }, now: at(20), limit: 10, skip: 0 })).data).toEqual([keptInvitation])

    await storage.createCollection({ id: collection.id, name: null, ownerId: carol.id }, at(30))
    expect(await storage.listMemberRoles(collection.id)).toEqual([{ userId: carol.id, role: 'owner' }])
    expect(await storage.listInvitations({ collectionId: collection.id, now: at(30), limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
  })
})
