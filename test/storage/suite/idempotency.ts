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
      await db.storage.saveIdempotencyKey(scope, { answer: 42 }, at(1))
      await db.storage.saveIdempotencyKey({ ...scope, fingerprint: 'e'.repeat(64) }, { answer: 0 }, at(2)) // the first is kept
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(2))).toEqual({ fingerprint: 'f'.repeat(64), response: { answer: 42 } })
      expect(await db.storage.getIdempotencyKey(bob.id, 'k-1', at(2))).toBeUndefined()
      expect(await db.storage.getIdempotencyKey(alice.id, 'k-1', at(100))).toBeUndefined()
      expect((await db.storage.purgeExpired(at(100), at(0))).deletedKeys).toBeGreaterThanOrEqual(1)
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
