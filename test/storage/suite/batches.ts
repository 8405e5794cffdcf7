import { beforeAll, describe, expect, it } from 'vitest'
import type { BatchLimits, StoredUser } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh, put } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'

/**
 * Batches: opened once per id, staged into, committed all or nothing (and
 * answered the same when committed again), aborted, expired and swept, within
 * their per-batch and per-user limits.
 */

const LIMITS: BatchLimits = { maxOperations: 5, maxBytes: 100, maxOpenPerUser: 100, maxStagedBytesPerUser: 10_000 }

export function batchesTests(ctx: SuiteContext): void {
  describe('batches', () => {
    const db = useStorage(ctx)
    let alice: StoredUser
    let bob: StoredUser

    beforeAll(async () => {
      alice = await db.storage.createUser({ email: 'alice@example.com', password: 'x' }, at(0))
      bob = await db.storage.createUser({ email: 'bob@example.com', password: 'x' }, at(0))
    })

    const openFor = (user: StoredUser, id = fresh('batch'), expiresAt = at(3600), limits = LIMITS) =>
      db.storage.openBatch({ id, userId: user.id, expiresAt, declaredOperations: null, declaredBytes: null }, limits, at(1))

    it('opens a batch once; opening the same id again returns it; another user cannot take the id', async () => {
      const first = await openFor(alice, 'b-open')
      expect(first.created).toBe(true)
      expect(first.batch).toMatchObject({ id: 'b-open', userId: alice.id, status: 'open', operationCount: 0, bytes: 0, result: null })
      const again = await openFor(alice, 'b-open')
      expect(again).toEqual({ batch: first.batch, created: false })
      await rejection(openFor(bob, 'b-open'), 'already-exists')
    })

    it('stages operations; re-staging a record replaces it and keeps its place; nothing is visible', async () => {
      const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(1))
      const { batch } = await openFor(alice)
      await db.storage.stageOperations(batch.id, { userId: alice.id, operations: [put(collection.id, 'a', 'first'), put(collection.id, 'b', 2)], limits: LIMITS, now: at(2) })
      const staged = await db.storage.stageOperations(batch.id, {
        userId: alice.id,
        operations: [put(collection.id, 'a', 'second'), { op: 'delete', collectionId: collection.id, id: 'c', baseVersion: 1 }],
        limits: LIMITS,
        now: at(3)
      })
      expect(staged.operationCount).toBe(3)
      expect(staged.bytes).toBe(Buffer.byteLength('"second"') + Buffer.byteLength('2'))
      expect(await db.storage.listOperations(batch.id)).toEqual([
        put(collection.id, 'a', 'second'),
        put(collection.id, 'b', 2),
        { op: 'delete', collectionId: collection.id, id: 'c', baseVersion: 1 }
      ])
      expect((await db.storage.changesSince(collection.id, { since: 0, limit: 10 })).changes).toEqual([])
      await rejection(db.storage.stageOperations(batch.id, { userId: bob.id, operations: [put(collection.id, 'x', 1)], limits: LIMITS, now: at(3) }), 'not-found')
    })

    it('refuses what would pass a limit and keeps what was staged', async () => {
      const { batch } = await openFor(alice)
      const ops = ['a', 'b', 'c', 'd', 'e'].map((id) => put('any', id, 1))
      await db.storage.stageOperations(batch.id, { userId: alice.id, operations: ops, limits: LIMITS, now: at(2) })
      await rejection(db.storage.stageOperations(batch.id, { userId: alice.id, operations: [put('any', 'f', 1)], limits: LIMITS, now: at(2) }), 'too-large')
      await rejection(db.storage.stageOperations(batch.id, { userId: alice.id, operations: [put('any', 'a', 'x'.repeat(200))], limits: LIMITS, now: at(2) }), 'too-large')
      const kept = await db.storage.getBatch(batch.id, at(3))
      expect(kept).toMatchObject({ operationCount: 5, bytes: 5 })
      expect(await db.storage.listOperations(batch.id)).toEqual(ops)
    })

    it('commits all staged operations in one transaction, and answers the same when committed again', async () => {
      const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(1))
      const { batch } = await openFor(alice)
      await db.storage.stageOperations(batch.id, { userId: alice.id, operations: [put(collection.id, 'a', 1), put(collection.id, 'b', 2)], limits: LIMITS, now: at(2) })
      const committed = await db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(3) } })
      expect(committed.replayed).toBe(false)
      expect(committed.outcomes).toEqual(['created', 'created'])
      expect(committed.records.map((record) => [record.id, record.version, record.seq])).toEqual([['a', 1, 1], ['b', 1, 2]])
      expect(committed.batch).toMatchObject({ status: 'committed', committedAt: at(3) })
      expect(await db.storage.listOperations(batch.id)).toEqual([])

      const replay = await db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(9) } })
      expect(replay.replayed).toBe(true)
      expect(replay.records).toEqual(committed.records)
      expect((await db.storage.getCollection(collection.id))!.seq).toBe(2)
    })

    it('a conflicting batch applies nothing, lists every conflict, and stays open', async () => {
      const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(1))
      await db.storage.commitWrites([{ op: 'create', collectionId: collection.id, id: 'taken', data: 1 }], { actor: alice.id, at: at(1) })
      const { batch } = await openFor(alice)
      await db.storage.stageOperations(batch.id, {
        userId: alice.id,
        operations: [put(collection.id, 'new', 1), put(collection.id, 'taken', 2), put(collection.id, 'ghost', 3, 4)],
        limits: LIMITS,
        now: at(2)
      })
      const error = await rejection(db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(3) } }), 'conflict')
      expect(error.conflicts.map((conflict) => [conflict.id, conflict.reason])).toEqual([['taken', 'exists'], ['ghost', 'missing']])
      expect(await db.storage.getRecord(collection.id, 'new')).toBeUndefined()
      expect((await db.storage.getCollection(collection.id))!.seq).toBe(1)
      expect((await db.storage.getBatch(batch.id, at(4)))!.status).toBe('open')
    })

    it('a condition on a collection that changed since fails the commit', async () => {
      const collection = await db.storage.createCollection({ id: fresh('c'), name: null, ownerId: alice.id }, at(1))
      const { batch } = await openFor(alice)
      await db.storage.stageOperations(batch.id, { userId: alice.id, operations: [put(collection.id, 'a', 1)], limits: LIMITS, now: at(2) })
      await db.storage.commitWrites([{ op: 'create', collectionId: collection.id, id: 'meanwhile', data: 1 }], { actor: bob.id, at: at(2) })
      const error = await rejection(
        db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [{ collectionId: collection.id, seq: 0 }], context: { actor: alice.id, at: at(3) } }),
        'conflict'
      )
      expect(error.stale).toEqual([{ collectionId: collection.id, seq: 1, epoch: collection.epoch }])
      const ok = await db.storage.commitBatch(batch.id, { userId: alice.id, conditions: [{ collectionId: collection.id, seq: 1 }], context: { actor: alice.id, at: at(4) } })
      expect(ok.records.map((record) => record.seq)).toEqual([2])
    })

    it('aborted and expired batches are closed; the sweeper expires, drops and deletes', async () => {
      const aborted = (await openFor(alice)).batch
      await db.storage.stageOperations(aborted.id, { userId: alice.id, operations: [put('any', 'a', 1)], limits: LIMITS, now: at(2) })
      expect((await db.storage.abortBatch(aborted.id, alice.id, at(3))).status).toBe('aborted')
      expect((await db.storage.abortBatch(aborted.id, alice.id, at(3))).status).toBe('aborted')
      expect(await db.storage.listOperations(aborted.id)).toEqual([])
      const closed = await rejection(db.storage.commitBatch(aborted.id, { userId: alice.id, conditions: [], context: { actor: alice.id, at: at(4) } }), 'closed')
      expect(closed.status).toBe('aborted')

      const expiring = (await openFor(alice, fresh('batch'), at(10))).batch
      await db.storage.stageOperations(expiring.id, { userId: alice.id, operations: [put('any', 'a', 1)], limits: LIMITS, now: at(5) })
      expect((await db.storage.getBatch(expiring.id, at(11)))!.status).toBe('expired')
      const gone = await rejection(db.storage.stageOperations(expiring.id, { userId: alice.id, operations: [put('any', 'b', 1)], limits: LIMITS, now: at(11) }), 'closed')
      expect(gone.status).toBe('expired')

      const swept = await db.storage.purgeExpired(at(11), at(0))
      expect(swept.expiredBatches).toBeGreaterThanOrEqual(1)
      expect(await db.storage.listOperations(expiring.id)).toEqual([])
      expect((await db.storage.getBatch(expiring.id, at(11)))!.status).toBe('expired')
      await db.storage.purgeExpired(at(12), at(11))
      expect(await db.storage.getBatch(expiring.id, at(12))).toBeUndefined()
    })

    it('limits open batches and staged bytes per user', async () => {
      const carol = await db.storage.createUser({ email: `carol-${fresh('u')}@example.com`, password: 'x' }, at(0))
      const tight: BatchLimits = { ...LIMITS, maxOpenPerUser: 3, maxStagedBytesPerUser: 150 }
      const batches = [await openFor(carol, fresh('b'), at(3600), tight), await openFor(carol, fresh('b'), at(3600), tight), await openFor(carol, fresh('b'), at(3600), tight)]
      await rejection(openFor(carol, fresh('b'), at(3600), tight), 'quota-exceeded')
      await db.storage.stageOperations(batches[0].batch.id, { userId: carol.id, operations: [put('any', 'a', 'x'.repeat(90))], limits: tight, now: at(2) })
      await rejection(
        db.storage.stageOperations(batches[1].batch.id, { userId: carol.id, operations: [put('any', 'a', 'x'.repeat(90))], limits: tight, now: at(2) }),
        'quota-exceeded'
      )
      expect((await db.storage.getBatch(batches[1].batch.id, at(3)))!.operationCount).toBe(0)
    })
  })
}
