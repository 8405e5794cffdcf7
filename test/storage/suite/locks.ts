import { beforeAll, describe, expect, it } from 'vitest'
import type { AcquireLockParams, StoredCollection, StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'

/**
 * Locks: leases and their fencing tokens, exclusive and shared, expiring,
 * and holding across storage instances on one database.
 */

export function locksTests(ctx: SuiteContext): void {
  describe('locks', () => {
    const db = useStorage(ctx)
    let alice: StoredUser
    let bob: StoredUser
    let counter = 0

    beforeAll(async () => {
      alice = await db.storage.createUser({ email: 'alice-locks@example.com', password: 'x' }, at(0))
      bob = await db.storage.createUser({ email: 'bob-locks@example.com', password: 'x' }, at(0))
    })

    const newCollection = (): Promise<StoredCollection> =>
      db.storage.createCollection({ id: `locks-${++counter}`, name: null, ownerId: alice.id }, at(0))

    const acquire = (collectionId: string, userId: string, holder: string, extra: Partial<AcquireLockParams> = {}) =>
      db.storage.acquireLock({ collectionId, userId, holder, mode: 'exclusive', expiresAt: at(100), now: at(10), ...extra })

    const put = (collectionId: string, id: string, actor: string, lockTokens?: Record<string, number>, now = at(20)) =>
      db.storage.commitWrites([{ op: 'create', collectionId, id, data: { id } }], { actor, at: now, lockTokens })

    it('grants a free collection exclusively, with a token, and refuses everyone else until it ends', async () => {
      const { id } = await newCollection()
      const granted = await acquire(id, alice.id, 'laptop')
      expect(granted.created).toBe(true)
      expect(granted.lock).toMatchObject({ collectionId: id, userId: alice.id, holder: 'laptop', mode: 'exclusive', expiresAt: at(100) })
      expect(granted.lock.token).toBeGreaterThan(0)

      const byOtherDevice = await rejection(acquire(id, alice.id, 'phone'), 'locked')
      expect(byOtherDevice.locks).toEqual([granted.lock])
      await rejection(acquire(id, bob.id, 'laptop'), 'locked')
      await rejection(acquire(id, bob.id, 'tablet', { mode: 'shared' }), 'locked')
      expect(await db.storage.listLocks(id, at(10))).toEqual([granted.lock])
    })

    it('the same holder acquiring again gets the same lock and token with the new expiry', async () => {
      const { id } = await newCollection()
      const first = await acquire(id, alice.id, 'laptop')
      const again = await acquire(id, alice.id, 'laptop', { expiresAt: at(500), now: at(50) })
      expect(again.created).toBe(false)
      expect(again.lock).toEqual({ ...first.lock, expiresAt: at(500) })
    })

    it('renews a live lease, and refuses to renew one that ended', async () => {
      const { id } = await newCollection()
      const { lock } = await acquire(id, alice.id, 'laptop')
      expect(await db.storage.renewLock(id, alice.id, 'laptop', at(300), at(50))).toEqual({ ...lock, expiresAt: at(300) })
      await rejection(db.storage.renewLock(id, alice.id, 'laptop', at(900), at(301)), 'not-found')
      await rejection(db.storage.renewLock(id, bob.id, 'laptop', at(900), at(60)), 'not-found')
    })

    it('releases; releasing again (or what was never held) returns nothing and is no error', async () => {
      const { id } = await newCollection()
      const { lock } = await acquire(id, alice.id, 'laptop')
      expect(await db.storage.releaseLock(id, alice.id, 'laptop', at(20))).toEqual(lock)
      expect(await db.storage.releaseLock(id, alice.id, 'laptop', at(21))).toBeUndefined()
      expect(await db.storage.releaseLock(id, bob.id, 'nothing', at(21))).toBeUndefined()
      expect(await db.storage.listLocks(id, at(22))).toEqual([])
      expect((await acquire(id, bob.id, 'tablet', { now: at(23) })).created).toBe(true)
    })

    it('tokens strictly increase with every grant on a collection', async () => {
      const { id } = await newCollection()
      const tokens: number[] = []
      for (let round = 0; round < 5; round++) {
        const { lock } = await acquire(id, round % 2 === 0 ? alice.id : bob.id, `device-${round}`, { now: at(10 + round) })
        tokens.push(lock.token)
        await db.storage.releaseLock(id, lock.userId, lock.holder, at(10 + round))
      }
      expect([...tokens].sort((a, b) => a - b)).toEqual(tokens)
      expect(new Set(tokens).size).toBe(tokens.length)
    })

    it('a lease past its expiry no longer counts: another holder gets it, with a greater token, and the expired one is reported once', async () => {
      const { id } = await newCollection()
      const first = await acquire(id, alice.id, 'laptop', { expiresAt: at(30) })
      expect(await db.storage.listLocks(id, at(30))).toEqual([])
      const second = await acquire(id, bob.id, 'tablet', { now: at(31), expiresAt: at(200) })
      expect(second.expired).toEqual([first.lock])
      expect(second.lock.token).toBeGreaterThan(first.lock.token)
      expect(await db.storage.releaseLock(id, alice.id, 'laptop', at(32))).toBeUndefined()
    })

    it('expireLocks deletes and returns each expired lease exactly once', async () => {
      const a = await newCollection()
      const b = await newCollection()
      const lockA = (await acquire(a.id, alice.id, 'laptop', { expiresAt: at(40) })).lock
      const lockB = (await acquire(b.id, bob.id, 'tablet', { expiresAt: at(50) })).lock
      const expiredAt45 = await db.storage.expireLocks(at(45))
      expect(expiredAt45).toContainEqual(lockA)
      expect(expiredAt45).not.toContainEqual(lockB)
      expect(await db.storage.expireLocks(at(45))).not.toContainEqual(lockA)
      expect(await db.storage.expireLocks(at(55))).toContainEqual(lockB)
    })

    it('shared leases go together and keep exclusive ones out (and the other way round)', async () => {
      const { id } = await newCollection()
      await acquire(id, alice.id, 'reader-1', { mode: 'shared' })
      await acquire(id, bob.id, 'reader-2', { mode: 'shared' })
      expect((await db.storage.listLocks(id, at(10))).map((lock) => lock.holder).sort()).toEqual(['reader-1', 'reader-2'])
      const refused = await rejection(acquire(id, bob.id, 'writer'), 'locked')
      expect(refused.locks.map((lock) => lock.holder).sort()).toEqual(['reader-1', 'reader-2'])
      // A shared holder asking for exclusive is refused while another shares it.
      await rejection(acquire(id, alice.id, 'reader-1'), 'locked')
      await db.storage.releaseLock(id, alice.id, 'reader-1', at(11))
      await db.storage.releaseLock(id, bob.id, 'reader-2', at(11))
      await acquire(id, alice.id, 'writer', { now: at(12) })
      await rejection(acquire(id, bob.id, 'reader-3', { mode: 'shared', now: at(12) }), 'locked')
    })

    it('a shared lease does not keep ordinary writes out', async () => {
      const { id } = await newCollection()
      await acquire(id, bob.id, 'reader', { mode: 'shared' })
      await put(id, 'r1', alice.id)
      expect((await db.storage.getRecord(id, 'r1'))?.version).toBe(1)
    })

    it('under an exclusive lease, only its holder with its token writes; anyone else gets locked and nothing changes', async () => {
      const { id } = await newCollection()
      const { lock } = await acquire(id, alice.id, 'laptop')
      const refused = await rejection(put(id, 'r1', bob.id), 'locked')
      expect(refused.locks).toEqual([lock])
      // The same user without the token (another device) is refused too.
      await rejection(put(id, 'r1', alice.id), 'locked')
      // Another user cannot borrow the holder's token.
      await rejection(put(id, 'r1', bob.id, { [id]: lock.token }), 'locked')
      await rejection(put(id, 'r1', alice.id, { [id]: lock.token + 1 }), 'locked')
      expect(await db.storage.getRecord(id, 'r1')).toBeUndefined()
      expect((await db.storage.getCollection(id))?.seq).toBe(0)
      await put(id, 'r1', alice.id, { [id]: lock.token })
      expect((await db.storage.getRecord(id, 'r1'))?.version).toBe(1)
    })

    it('fencing: a token from a lease that expired or was superseded is refused, even where nobody holds the collection now', async () => {
      const { id } = await newCollection()
      const old = (await acquire(id, alice.id, 'laptop', { expiresAt: at(30) })).lock
      // Expired, nobody else took it: the stale token is still refused.
      await rejection(put(id, 'r1', alice.id, { [id]: old.token }, at(31)), 'locked')
      const current = (await acquire(id, alice.id, 'phone', { now: at(32), expiresAt: at(300) })).lock
      await rejection(put(id, 'r1', alice.id, { [id]: old.token }, at(33)), 'locked')
      await put(id, 'r1', alice.id, { [id]: current.token }, at(34))
      await db.storage.releaseLock(id, alice.id, 'phone', at(35))
      await rejection(put(id, 'r2', alice.id, { [id]: current.token }, at(36)), 'locked')
      await put(id, 'r2', alice.id, undefined, at(37))
    })

    it('a batch commit is fenced like any write', async () => {
      const { id } = await newCollection()
      const batch = { id: `batch-locks-${++counter}`, userId: alice.id, expiresAt: at(1000), declaredOperations: null, declaredBytes: null }
      const limits = { maxOperations: 10, maxBytes: 10_000, maxOpenPerUser: 10, maxStagedBytesPerUser: 100_000 }
      await db.storage.openBatch(batch, limits, at(5))
      await db.storage.stageOperations(batch.id, {
        userId: alice.id,
        operations: [{ op: 'put', collectionId: id, id: 'b1', data: 1, baseVersion: null }],
        limits,
        now: at(6)
      })
      const { lock } = await acquire(id, bob.id, 'tablet')
      await rejection(db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(20) } }), 'locked')
      await db.storage.releaseLock(id, bob.id, 'tablet', at(21))
      await rejection(
        db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(22), lockTokens: { [id]: lock.token } } }),
        'locked'
      )
      const committed = await db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(23) } })
      expect(committed.records.map((record) => record.id)).toEqual(['b1'])
    })

    it('leases hold across storage instances on one database (several servers), and so do their tokens', async () => {
      const { id } = await newCollection()
      const other = db.open()
      try {
        const { lock } = await acquire(id, alice.id, 'laptop')
        await rejection(other.acquireLock({ collectionId: id, userId: bob.id, holder: 'tablet', mode: 'exclusive', expiresAt: at(100), now: at(11) }), 'locked')
        await rejection(other.commitWrites([{ op: 'create', collectionId: id, id: 'x', data: 1 }], { actor: bob.id, at: at(12) }), 'locked')
        await other.releaseLock(id, alice.id, 'laptop', at(13))
        const next = await other.acquireLock({ collectionId: id, userId: bob.id, holder: 'tablet', mode: 'exclusive', expiresAt: at(100), now: at(14) })
        expect(next.lock.token).toBeGreaterThan(lock.token)
      } finally {
        await other.close()
      }
    })

    it('removing a member ends every lease of theirs on the collection, from every device, and no one else’s', async () => {
      // The port's releaseLocksOf is gone: a member's removal is what ends all their leases at once.
      const { id } = await newCollection()
      await db.storage.putMember({ collectionId: id, userId: bob.id, role: 'writer', at: at(5), actorId: alice.id })
      await acquire(id, bob.id, 'r1', { mode: 'shared' })
      await acquire(id, bob.id, 'r2', { mode: 'shared' })
      await acquire(id, alice.id, 'r3', { mode: 'shared' })
      const { locks } = await db.storage.removeMember({ collectionId: id, userId: bob.id, actorId: alice.id, at: at(10) })
      expect(locks.map((lock) => lock.holder).sort()).toEqual(['r1', 'r2'])
      expect((await db.storage.listLocks(id, at(10))).map((lock) => lock.holder)).toEqual(['r3'])
    })

    it('acquiring on a missing collection is not-found', async () => {
      await rejection(acquire('no-such-collection', alice.id, 'laptop'), 'not-found')
    })
  })
}
