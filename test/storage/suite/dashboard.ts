import { beforeAll, describe, expect, it } from 'vitest'
import type { BatchLimits, StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, context, create, put, remove } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'

/**
 * What the dashboard reads and does beyond sync: the operator's counts
 * (stats), a collection's open batches (listOpenBatches) and an owner
 * breaking someone's lock (breakLock).
 */

const LIMITS: BatchLimits = { maxOperations: 100, maxBytes: 100_000, maxOpenPerUser: 100, maxStagedBytesPerUser: 1_000_000 }

export function dashboardTests(ctx: SuiteContext): void {
  describe('dashboard', () => {
    const db = useStorage(ctx)
    let alice: StoredUser
    let bob: StoredUser
    let counter = 0

    beforeAll(async () => {
      alice = await db.storage.createUser({ email: 'alice-dash@example.com', password: 'x' }, at(0))
      bob = await db.storage.createUser({ email: 'bob-dash@example.com', password: 'x' }, at(0))
    })

    const newCollection = async (): Promise<string> => {
      const { id } = await db.storage.createCollection({ id: `dash-${++counter}`, name: null, ownerId: alice.id }, at(0))
      await db.storage.putMember({ collectionId: id, userId: bob.id, role: 'writer', at: at(0), actorId: alice.id })
      return id
    }

    const openBatch = async (userId: string, id: string, createdAt: number, expiresAt = at(3600)) =>
      (await db.storage.openBatch({ id, userId, expiresAt, declaredOperations: null, declaredBytes: null }, LIMITS, at(createdAt))).batch

    it('stats counts users, collections, live records and their bytes, tombstones, open batches and live locks', async () => {
      const before = await db.storage.stats(at(10))
      const id = await newCollection()
      // "é" is two bytes in UTF-8: the size is of the stored JSON text in bytes, not characters.
      const written = await db.storage.commitWrites([create(id, 'a', { name: 'é' }), create(id, 'b', [1, 2, 3]), create(id, 'c', 'gone')], context(alice.id))
      await db.storage.commitWrites([remove(id, 'c', written.records[2].version)], context(alice.id))
      const batch = await openBatch(bob.id, `dash-stats-${counter}`, 1)
      await db.storage.stageOperations(batch.id, { userId: bob.id, operations: [put(id, 'x', 1)], limits: LIMITS, now: at(2) })
      // Expired at 10: neither counts.
      await openBatch(bob.id, `dash-stats-old-${counter}`, 1, at(5))
      await db.storage.acquireLock({ collectionId: id, userId: alice.id, holder: 'laptop', mode: 'shared', expiresAt: at(100), now: at(1) })
      await db.storage.acquireLock({ collectionId: id, userId: bob.id, holder: 'phone', mode: 'shared', expiresAt: at(5), now: at(1) })

      const after = await db.storage.stats(at(10))
      const dataBytes = Buffer.byteLength(JSON.stringify({ name: 'é' })) + Buffer.byteLength(JSON.stringify([1, 2, 3]))
      expect(after).toEqual({
        users: before.users,
        collections: before.collections + 1,
        records: before.records + 2,
        tombstones: before.tombstones + 1,
        bytes: before.bytes + dataBytes,
        openBatches: before.openBatches + 1,
        locks: before.locks + 1
      })
      for (const value of Object.values(after)) expect(typeof value).toBe('number')
    })

    it('listOpenBatches lists open, unexpired batches touching the collection, oldest first, with whole-batch counts and e-mails', async () => {
      const id = await newCollection()
      const other = await newCollection()
      const first = await openBatch(alice.id, `dash-b1-${counter}`, 1)
      await db.storage.stageOperations(first.id, { userId: alice.id, operations: [put(id, 'a', 1), put(other, 'b', 'two')], limits: LIMITS, now: at(2) })
      const second = await openBatch(bob.id, `dash-b2-${counter}`, 2)
      await db.storage.stageOperations(second.id, { userId: bob.id, operations: [put(id, 'c', 3)], limits: LIMITS, now: at(3) })
      // Not touching `id`, empty, expired, committed, aborted: none listed.
      const elsewhere = await openBatch(bob.id, `dash-b3-${counter}`, 3)
      await db.storage.stageOperations(elsewhere.id, { userId: bob.id, operations: [put(other, 'd', 4)], limits: LIMITS, now: at(4) })
      await openBatch(bob.id, `dash-b4-${counter}`, 3)
      const expiring = await openBatch(bob.id, `dash-b5-${counter}`, 3, at(50))
      await db.storage.stageOperations(expiring.id, { userId: bob.id, operations: [put(id, 'e', 5)], limits: LIMITS, now: at(4) })
      const aborted = await openBatch(bob.id, `dash-b6-${counter}`, 3)
      await db.storage.stageOperations(aborted.id, { userId: bob.id, operations: [put(id, 'f', 6)], limits: LIMITS, now: at(4) })
      await db.storage.abortBatch(aborted.id, bob.id, at(5))
      const committed = await openBatch(alice.id, `dash-b7-${counter}`, 3)
      await db.storage.stageOperations(committed.id, { userId: alice.id, operations: [put(id, 'g', 7)], limits: LIMITS, now: at(4) })
      await db.storage.commitBatch(committed.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(5) } })

      const firstNow = (await db.storage.getBatch(first.id, at(100)))!
      const secondNow = (await db.storage.getBatch(second.id, at(100)))!
      const listed = await db.storage.listOpenBatches({ collectionId: id, now: at(100), limit: 100 })
      expect(listed).toEqual([
        { id: first.id, userId: alice.id, email: alice.email, operationCount: 2, bytes: firstNow.bytes, createdAt: first.createdAt, expiresAt: first.expiresAt },
        { id: second.id, userId: bob.id, email: bob.email, operationCount: 1, bytes: secondNow.bytes, createdAt: second.createdAt, expiresAt: second.expiresAt }
      ])
      expect(firstNow.bytes).toBeGreaterThan(0)
      expect((await db.storage.listOpenBatches({ collectionId: id, userId: bob.id, now: at(100), limit: 100 })).map((batch) => batch.id)).toEqual([second.id])
      expect((await db.storage.listOpenBatches({ collectionId: id, now: at(10), limit: 100 })).map((batch) => batch.id)).toEqual([first.id, second.id, expiring.id])
      expect((await db.storage.listOpenBatches({ collectionId: id, now: at(100), limit: 1 })).map((batch) => batch.id)).toEqual([first.id])
      expect(await db.storage.listOpenBatches({ collectionId: 'dash-none', now: at(100), limit: 100 })).toEqual([])
    })

    it('breakLock: an owner ends another holder’s live lease; its token is never reused and its fenced writes fail', async () => {
      const id = await newCollection()
      const { lock } = await db.storage.acquireLock({ collectionId: id, userId: bob.id, holder: 'phone', mode: 'exclusive', expiresAt: at(100), now: at(1) })
      // Only owners: bob (a writer) cannot break even his own that way; a stranger is refused as a non-member.
      expect((await rejection(db.storage.breakLock({ collectionId: id, holder: 'phone', actorId: bob.id, now: at(2) }), 'forbidden')).access).toEqual({
        collectionId: id,
        role: 'writer',
        needs: 'owner'
      })
      await rejection(db.storage.breakLock({ collectionId: 'dash-missing', holder: 'phone', actorId: alice.id, now: at(2) }), 'not-found')

      expect(await db.storage.breakLock({ collectionId: id, holder: 'phone', userId: alice.id, actorId: alice.id, now: at(2) })).toEqual([])
      expect(await db.storage.breakLock({ collectionId: id, holder: 'phone', actorId: alice.id, now: at(2) })).toEqual([lock])
      expect(await db.storage.listLocks(id, at(3))).toEqual([])
      expect(await db.storage.breakLock({ collectionId: id, holder: 'phone', actorId: alice.id, now: at(3) })).toEqual([])

      const stale = await rejection(db.storage.commitWrites([create(id, 'late', 1)], { actor: bob.id, at: at(4), lockTokens: { [id]: lock.token } }), 'locked')
      expect(stale.message).toMatch(/not the lease in force/)
      const next = await db.storage.acquireLock({ collectionId: id, userId: alice.id, holder: 'laptop', mode: 'exclusive', expiresAt: at(100), now: at(5) })
      expect(next.lock.token).toBeGreaterThan(lock.token)
    })
  })
}
