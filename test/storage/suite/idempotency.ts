import { beforeAll, describe, expect, it } from 'vitest'
import type { StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'

/**
 * Idempotency keys: kept per user with their fingerprint until they expire,
 * and an idempotent commit applied once (its retry replays the stored result,
 * a different request under the same key is refused).
 */

export function idempotencyTests(ctx: SuiteContext): void {
  describe('idempotency keys', () => {
    const db = useStorage(ctx)
    let alice: StoredUser
    let bob: StoredUser

    beforeAll(async () => {
      alice = await db.storage.createUser({ email: 'alice@example.com', password: 'x' }, at(0))
      bob = await db.storage.createUser({ email: 'bob@example.com', password: 'x' }, at(0))
    })

    it('keeps idempotency keys per user, with their fingerprint, until they expire', async () => {
      const scope = { userId: alice.id, key: 'k-1', fingerprint: 'f'.repeat(64), expiresAt: at(100) }
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(1))).toBeUndefined()
      expect(await db.storage.claimIdempotencyKey(scope, { token: 't-1', pendingUntil: at(31) }, at(1))).toEqual({ state: 'claimed' })
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(1))).toBeUndefined() // pending: no answer yet
      expect(await db.storage.completeIdempotencyKey(scope, 't-1', { answer: 42 }, at(1))).toBe(true)
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(2))).toEqual({ fingerprint: 'f'.repeat(64), response: { answer: 42 } })
      expect(await db.storage.getIdempotencyKey(bob.id, 'k-1', at(2))).toBeUndefined()
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(100))).toBeUndefined()
      expect((await db.storage.purgeExpired(at(100), at(0))).deletedKeys).toBeGreaterThanOrEqual(1)
    })

    describe('claims of the calls whose answer is stored after them', () => {
      const scopeOf = (key: string, fingerprint = 'c'.repeat(64)) => ({ userId: alice.id, key, fingerprint, expiresAt: at(1000) })

      it('claimed, then answered: a retry gets the answer; another request under the key is refused, pending or answered', async () => {
        const scope = scopeOf('claim-1')
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'a', pendingUntil: at(40) }, at(10))).toEqual({ state: 'claimed' })
        // Renewing its own claim keeps it; another run waits for it; another request is refused.
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'a', pendingUntil: at(45) }, at(15))).toEqual({ state: 'claimed' })
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'b', pendingUntil: at(50) }, at(20))).toEqual({ state: 'pending', pendingUntil: at(45) })
        await rejection(db.storage.claimIdempotencyKey({ ...scope, fingerprint: 'd'.repeat(64) }, { token: 'b', pendingUntil: at(50) }, at(20)), 'key-reused')

        expect(await db.storage.completeIdempotencyKey(scope, 'b', { no: true }, at(21))).toBe(false) // not b's claim
        expect(await db.storage.completeIdempotencyKey(scope, 'a', { id: 'made' }, at(21))).toBe(true)
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'c', pendingUntil: at(60) }, at(30))).toEqual({ state: 'done', response: { id: 'made' } })
        await rejection(db.storage.claimIdempotencyKey({ ...scope, fingerprint: 'd'.repeat(64) }, { token: 'c', pendingUntil: at(60) }, at(30)), 'key-reused')
        // Answered is final: a late release by its run changes nothing.
        await db.storage.releaseIdempotencyKey(scope, 'a')
        expect(await db.storage.getIdempotencyKey(alice.id, 'claim-1', at(31))).toEqual({ fingerprint: scope.fingerprint, response: { id: 'made' } })
      })

      it('a failed call releases its claim: the retry runs again', async () => {
        const scope = scopeOf('claim-2')
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'a', pendingUntil: at(40) }, at(10))).toEqual({ state: 'claimed' })
        await db.storage.releaseIdempotencyKey(scopeOf('claim-2'), 'b') // not b's: kept
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'b', pendingUntil: at(41) }, at(11))).toMatchObject({ state: 'pending' })
        await db.storage.releaseIdempotencyKey(scopeOf('claim-2'), 'a')
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'b', pendingUntil: at(42) }, at(12))).toEqual({ state: 'claimed' })
      })

      it('a claim past its lease (its process died) is taken over, and its late answer is not kept', async () => {
        const scope = scopeOf('claim-3')
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'dead', pendingUntil: at(40) }, at(10))).toEqual({ state: 'claimed' })
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'next', pendingUntil: at(70) }, at(39))).toMatchObject({ state: 'pending' })
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'next', pendingUntil: at(70) }, at(40))).toEqual({ state: 'claimed' })
        expect(await db.storage.completeIdempotencyKey(scope, 'dead', { from: 'dead' }, at(41))).toBe(false)
        await db.storage.releaseIdempotencyKey(scopeOf('claim-3'), 'dead') // no effect either
        expect(await db.storage.completeIdempotencyKey(scope, 'next', { from: 'next' }, at(42))).toBe(true)
        expect(await db.storage.getIdempotencyKey(alice.id, 'claim-3', at(43))).toEqual({ fingerprint: scope.fingerprint, response: { from: 'next' } })
      })

      it('an expired key is claimed afresh, even for another request', async () => {
        const scope = { ...scopeOf('claim-4'), expiresAt: at(20) }
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'a', pendingUntil: at(15) }, at(10))).toEqual({ state: 'claimed' })
        expect(await db.storage.completeIdempotencyKey(scope, 'a', 1, at(11))).toBe(true)
        const later = { ...scopeOf('claim-4', 'e'.repeat(64)), expiresAt: at(1000) }
        expect(await db.storage.claimIdempotencyKey(later, { token: 'b', pendingUntil: at(60) }, at(30))).toEqual({ state: 'claimed' })
      })

      it('of concurrent claims of one key exactly one wins; the others wait for it, then get its answer', async () => {
        const scope = scopeOf('claim-5')
        const outcomes = await Promise.all(
          Array.from({ length: 6 }, (_, i) => db.storage.claimIdempotencyKey(scope, { token: `t-${i}`, pendingUntil: at(60) }, at(30)))
        )
        expect(outcomes.filter((outcome) => outcome.state === 'claimed')).toHaveLength(1)
        expect(outcomes.filter((outcome) => outcome.state === 'pending')).toHaveLength(5)
        const winner = `t-${outcomes.findIndex((outcome) => outcome.state === 'claimed')}`
        expect(await db.storage.completeIdempotencyKey(scope, winner, 'won', at(31))).toBe(true)
        expect(await db.storage.claimIdempotencyKey(scope, { token: 't-9', pendingUntil: at(60) }, at(32))).toEqual({ state: 'done', response: 'won' })
      })

      it('a record write under a key another kind of call holds is refused', async () => {
        const scope = scopeOf('claim-6')
        expect(await db.storage.claimIdempotencyKey(scope, { token: 'a', pendingUntil: at(60) }, at(30))).toEqual({ state: 'claimed' })
        const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(30))
        const write = [{ op: 'create' as const, collectionId: collection.id, id: 'r', data: 1 }]
        await rejection(db.storage.commitWrites(write, { actor: alice.id, at: at(31), idempotency: scope }), 'key-reused') // even with its fingerprint
        expect(await db.storage.getRecord(collection.id, 'r')).toBeUndefined()
      })
    })

    it('an idempotent commit applies once: the retry gets the stored result, a different request is refused', async () => {
      const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(1))
      const idempotency = { userId: alice.id, key: 'write-1', fingerprint: 'a'.repeat(64), expiresAt: at(1000) }
      const write = [{ op: 'create' as const, collectionId: collection.id, id: 'r', data: 1 }]
      const first = await db.storage.commitWrites(write, { actor: alice.id, at: at(2), idempotency })
      const retry = await db.storage.commitWrites(write, { actor: alice.id, at: at(3), idempotency })
      expect(retry).toEqual({ ...first, replayed: true })
      expect((await db.storage.getCollection(collection.id))!.seq).toBe(1)
      await rejection(db.storage.commitWrites(write, { actor: alice.id, at: at(4), idempotency: { ...idempotency, fingerprint: 'b'.repeat(64) } }), 'key-reused')

      // Concurrent duplicates: one applies, the others replay it.
      const same = { ...idempotency, key: 'write-2' }
      const writes = [{ op: 'create' as const, collectionId: collection.id, id: 'r2', data: 2 }]
      const results = await Promise.all(Array.from({ length: 5 }, () => db.storage.commitWrites(writes, { actor: alice.id, at: at(5), idempotency: same })))
      expect(results.filter((result) => !result.replayed)).toHaveLength(1)
      expect(new Set(results.map((result) => JSON.stringify(result.records))).size).toBe(1)
      expect((await db.storage.getCollection(collection.id))!.seq).toBe(2)
    })
  })
}
