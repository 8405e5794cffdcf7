import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StorageTx, Tx } from '../../../src/storage/backend.js'
import { StorageError } from '../../../src/storage/errors.js'
import { KnexBackend } from '../../../src/storage/knex/knex-backend.js'
import { execute, select } from '../../../src/storage/knex/statements.js'
import type { StoredCollection, StoredLock } from '../../../src/storage/types.js'
import { describeSqlBackends, type TestDatabase } from '../../helpers/backends.js'
import { rejection } from '../../helpers/storage.js'

/**
 * The knex backend's mechanisms on their own (src/storage/knex/), where the
 * port-level suite cannot tell a right mechanism from a lucky one: what
 * deleting a collection removes, what deleting leases returns, how staging
 * keeps places, how errors leave a transaction, and that taking a collection
 * orders transactions and reads the role after the wait. With and without
 * the shortcuts.
 *
 * What the last test catches: the role read in the same statement as the
 * collection's UPDATE (a subquery in RETURNING) instead of after it. Tried:
 * on PostgreSQL it then reads the statement's snapshot from before the wait
 * and still sees the member that was removed meanwhile.
 */
describeSqlBackends('knex backend mechanisms', (backend) => {
  for (const shortcuts of [true, false]) {
    describe(shortcuts ? 'with shortcuts' : 'plain', () => {
      let database: TestDatabase
      let db: KnexBackend
      let counter = 0
      const at = '2026-01-01T00:00:00.000Z'
      const later = '2026-01-02T00:00:00.000Z'

      beforeAll(async () => {
        database = await backend.create()
        db = new KnexBackend(database.databaseUrl, database.dataDir, { shortcuts })
        await db.migrate()
      })
      afterAll(async () => {
        await db?.close()
        await database?.cleanup()
      })

      const run = <T>(work: (tx: StorageTx) => Tx<T>): Promise<T> => db.transaction(work)

      async function collectionWithOwner(): Promise<{ collection: StoredCollection; ownerId: string }> {
        const owner = await db.createUser({ email: `owner-${++counter}-${shortcuts}@example.com`, password: 'x' }, at)
        const collection: StoredCollection = { id: `c-${++counter}`, name: null, ownerId: owner.id, epoch: 'e', seq: 0, createdAt: at, updatedAt: at }
        await run(function* (tx) {
          yield* tx.insertCollection(collection)
          yield* tx.insertMember({ collectionId: collection.id, userId: owner.id, role: 'owner', at })
        })
        return { collection, ownerId: owner.id }
      }

      const lease = (collectionId: string, userId: string, holder: string, mode: 'exclusive' | 'shared', expiresAt: string, token: number): StoredLock => ({
        collectionId,
        userId,
        holder,
        mode,
        token,
        acquiredAt: at,
        expiresAt
      })

      it('takeCollection reserves positions and tokens, and reads the role', async () => {
        const { collection, ownerId } = await collectionWithOwner()
        const taken = await run((tx) => tx.takeCollection(collection.id, { positions: 3, lockToken: true, roleOf: ownerId }))
        expect(taken).toMatchObject({ collection: { id: collection.id, seq: 3 }, lockSeq: 1, role: 'owner' })
        const again = await run((tx) => tx.takeCollection(collection.id))
        expect(again).toMatchObject({ collection: { seq: 3 }, lockSeq: 1, role: undefined })
        expect(await run((tx) => tx.takeCollection('missing', { positions: 1, roleOf: ownerId }))).toBeUndefined()
      })

      it('deleteCollection removes its records, members, leases and invitations, and leaves batches and keys', async () => {
        const { collection, ownerId } = await collectionWithOwner()
        const other = await collectionWithOwner()
        const record = (collectionId: string, id: string, seq: number) => ({
          collectionId,
          id,
          version: 1,
          data: { id },
          deleted: false,
          updatedAt: at,
          updatedBy: ownerId,
          seq
        })
        const batch = {
          id: `b-${++counter}`,
          userId: ownerId,
          status: 'open' as const,
          operationCount: 0,
          bytes: 0,
          declaredOperations: null,
          declaredBytes: null,
          createdAt: at,
          expiresAt: later,
          committedAt: null,
          result: null
        }
        await run(function* (tx) {
          yield* tx.insertRecords([record(collection.id, 'r1', 1), record(collection.id, 'r2', 2), record(other.collection.id, 'r1', 1)])
          yield* tx.insertLease(lease(collection.id, ownerId, 'h', 'exclusive', later, 1))
          yield* tx.insertLease(lease(other.collection.id, other.ownerId, 'h', 'exclusive', later, 1))
          yield* tx.insertInvitation({ id: `i-${++counter}`, collectionId: collection.id, role: 'reader', inviteeUserId: null, inviteeEmail: 'x@example.com', invitedBy: ownerId, expiresAt: later, keys: null }, at)
          yield* tx.insertBatch(batch)
          yield* tx.stageOperations(batch.id, [{ op: 'put', collectionId: collection.id, id: 'r3', data: {}, baseVersion: null, bytes: 2 }])
          yield* tx.putKey({ userId: ownerId, key: 'k', fingerprint: 'f', expiresAt: later }, { ok: true }, at)
        })

        await run((tx) => tx.deleteCollection(collection.id))

        const rows = async (table: string, where: Record<string, string>) => (await db.db(table).where(where)).length
        expect(await db.getCollection(collection.id)).toBeUndefined()
        expect(await rows('records', { collection_id: collection.id })).toBe(0)
        expect(await rows('members', { collection_id: collection.id })).toBe(0)
        expect(await rows('locks', { collection_id: collection.id })).toBe(0)
        expect(await rows('invitations', { collection_id: collection.id })).toBe(0)
        // The user's, and kept.
        expect(await db.listOperations(batch.id)).toHaveLength(1)
        expect(await db.getIdempotencyKey(ownerId, 'k', at)).toEqual({ fingerprint: 'f', response: { ok: true } })
        // Another collection's rows are untouched.
        expect(await rows('records', { collection_id: other.collection.id })).toBe(1)
        expect(await rows('locks', { collection_id: other.collection.id })).toBe(1)
        await rejection(run((tx) => tx.deleteCollection(collection.id)), 'not-found')
      })

      it('deleteLeases deletes what matches and returns exactly that', async () => {
        const { collection, ownerId } = await collectionWithOwner()
        const other = await db.createUser({ email: `other-${++counter}-${shortcuts}@example.com`, password: 'x' }, at)
        await run(function* (tx) {
          yield* tx.insertLease(lease(collection.id, ownerId, 'a', 'shared', at, 1))
          yield* tx.insertLease(lease(collection.id, ownerId, 'b', 'shared', later, 2))
          yield* tx.insertLease(lease(collection.id, other.id, 'a', 'shared', later, 3))
        })
        const expired = await run((tx) => tx.deleteLeases(collection.id, { expiredAt: at }))
        expect(expired.map((lock) => [lock.userId, lock.holder])).toEqual([[ownerId, 'a']])
        expect(await run((tx) => tx.deleteLeases(collection.id, { expiredAt: at }))).toEqual([])
        const mine = await run((tx) => tx.deleteLeases(collection.id, { userId: ownerId, holder: 'b', mode: 'shared' }))
        expect(mine.map((lock) => lock.token)).toEqual([2])
        expect((await run((tx) => tx.deleteLeases(collection.id, {}))).map((lock) => lock.token)).toEqual([3])
        expect(await run((tx) => tx.listLeases(collection.id))).toEqual([])
      })

      it('expireLeases returns each expired lease once', async () => {
        const { collection, ownerId } = await collectionWithOwner()
        await run((tx) => tx.insertLease(lease(collection.id, ownerId, 'x', 'exclusive', at, 1)))
        const [first, second] = await Promise.all([db.expireLeases(later), db.expireLeases(later)])
        expect([...first, ...second].filter((lock) => lock.collectionId === collection.id)).toHaveLength(1)
      })

      it('stageOperations: a re-staged record keeps its place; the last of one call wins', async () => {
        const { collection, ownerId } = await collectionWithOwner()
        const id = `b-${++counter}`
        await run((tx) =>
          tx.insertBatch({ id, userId: ownerId, status: 'open', operationCount: 0, bytes: 0, declaredOperations: null, declaredBytes: null, createdAt: at, expiresAt: later, committedAt: null, result: null })
        )
        const put = (record: string, n: number) => ({ op: 'put' as const, collectionId: collection.id, id: record, data: { n }, baseVersion: null, bytes: 7 })
        await run((tx) => tx.stageOperations(id, [put('a', 1), put('b', 1), put('a', 2)]))
        await run((tx) => tx.stageOperations(id, [put('c', 1), put('b', 3)]))
        expect((await db.listOperations(id)).map((operation) => [operation.id, (operation as unknown as { data: { n: number } }).data.n])).toEqual([
          ['a', 2],
          ['b', 3],
          ['c', 1]
        ])
        expect(await run((tx) => tx.stagedTotals(id))).toEqual({ count: 3, bytes: 21 })
        const taken = await run((tx) => tx.takeBatch(id, at))
        expect(taken).toMatchObject({ id, status: 'open' })
        await run((tx) => tx.updateBatch(id, { status: 'aborted' }))
        expect(await db.getBatch(id, at)).toMatchObject({ status: 'aborted', operationCount: 0, result: null })
      })

      it("a step's own error leaves the transaction as it is, and rolls it back", async () => {
        const { collection } = await collectionWithOwner()
        const thrown = new StorageError('conflict', 'the rule says no')
        const marker = { replay: true }
        await expect(
          run(function* (tx) {
            yield* tx.takeCollection(collection.id, { positions: 5 })
            throw thrown
          })
        ).rejects.toBe(thrown)
        await expect(
          run(function* (tx) {
            yield* tx.takeCollection(collection.id, { positions: 5 })
            throw marker
          })
        ).rejects.toBe(marker)
        expect((await db.getCollection(collection.id))!.seq).toBe(0)
      })

      it("a driver's error comes out translated, with the driver's as its cause", async () => {
        const { collection } = await collectionWithOwner()
        const error = await rejection(run((tx) => tx.insertCollection(collection)), 'already-exists')
        expect(error.cause).toBeInstanceOf(Error)
        const broken = await rejection(run(() => select('SELECT * FROM no_such_table', [])), 'internal')
        expect(broken.message).not.toContain('no_such_table')
      })

      it('takeUser takes an existing user, and says whether there is one', async () => {
        const { ownerId } = await collectionWithOwner()
        expect(await run((tx) => tx.takeUser(ownerId))).toBe(true)
        expect(await run((tx) => tx.takeUser('nobody'))).toBe(false)
        expect(await db.setUserPassword('nobody', 'y')).toBe(false)
        expect(await db.setUserPassword(ownerId, 'y')).toBe(true)
      })

      if (backend.name === 'postgres') {
        it('takeCollection waits for a transaction that took the collection, then reads the role as that one left it', async () => {
          const { collection, ownerId } = await collectionWithOwner()
          const member = await db.createUser({ email: `member-${++counter}-${shortcuts}@example.com`, password: 'x' }, at)
          await run((tx) => tx.insertMember({ collectionId: collection.id, userId: member.id, role: 'writer', at }))
          const order: string[] = []
          // Takes the collection (positions 0: the row lock alone), removes the member, and holds on a while.
          const removal = run(function* (tx) {
            yield* tx.takeCollection(collection.id)
            yield* tx.deleteMember(collection.id, member.id)
            yield* execute('SELECT pg_sleep(0.3)', [])
            order.push('removed')
          })
          await new Promise((resolve) => setTimeout(resolve, 100))
          const write = run(function* (tx) {
            const taken = yield* tx.takeCollection(collection.id, { positions: 1, roleOf: member.id })
            order.push('taken')
            return taken
          })
          const [, taken] = await Promise.all([removal, write])
          expect(order).toEqual(['removed', 'taken'])
          expect(taken).toMatchObject({ collection: { seq: 1 }, role: undefined })
          expect(await db.getMember(collection.id, ownerId)).toMatchObject({ role: 'owner' })
        })
      }
    })
  }
})
