import { describe, expect, it } from 'vitest'
import { recordOfChange } from '../../../src/storage/changes.js'
import type { IdempotencyScope, RecordWrite, StagedOperation, StoredCollection, StoredRecord, WriteContext } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh, now } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'

/**
 * Every record version keeps the idempotency key of the call that wrote it
 * (WriteContext.idempotencyKey → StoredRecord.idempotencyKey), on every write
 * path a backend has — plain creates, single compare-and-set writes (with and
 * without the speed-ups), the general path, batch commits — and every read
 * shows it: getRecord, findRecords, changesSince, a conflict's current.
 */

export function recordKeysTests(ctx: SuiteContext): void {
  describe('idempotency keys on record versions', () => {
    const db = useStorage(ctx)


    const newCollection = (): Promise<StoredCollection> => db.storage.createCollection({ id: fresh('c'), name: null, ownerId: db.owner.id }, now())
    /** A write context with the call's key, and the key's scope too when `atomic` (as record calls have). */
    const keyed = (key: string | undefined, extra: Partial<WriteContext> = {}): WriteContext => ({
      actor: db.owner.id,
      at: now(),
      ...(key === undefined ? {} : { idempotencyKey: key }),
      ...extra
    })
    const scope = (key: string): IdempotencyScope => ({ userId: db.owner.id, key, fingerprint: 'f'.repeat(64), expiresAt: at(86_400) })
    const commit = async (writes: RecordWrite[], context: WriteContext): Promise<StoredRecord[]> => (await db.storage.commitWrites(writes, context)).records

    /** What every read says about one record: the same, key included. */
    async function readEverywhere(collectionId: string, id: string): Promise<StoredRecord> {
      const record = (await db.storage.getRecord(collectionId, id))!
      const { changes } = await db.storage.changesSince(collectionId, { since: record.seq - 1, limit: 1 })
      expect(changes.map(recordOfChange)).toEqual([record])
      const found = await db.storage.findRecords(collectionId, { deleted: record.deleted, ids: [id], sort: [], limit: 1, skip: 0 })
      expect(found.data).toEqual([record])
      return record
    }

    it('plain creates (one or many) keep the call’s key; without one the field is absent', async () => {
      const collection = await newCollection()
      const made = await commit(
        [
          { op: 'create', collectionId: collection.id, id: 'a', data: 1 },
          { op: 'create', collectionId: collection.id, id: 'b', data: 2 }
        ],
        keyed('k-create')
      )
      expect(made.map((record) => record.idempotencyKey)).toEqual(['k-create', 'k-create'])
      expect(await readEverywhere(collection.id, 'a')).toEqual(made[0])
      expect(await readEverywhere(collection.id, 'b')).toEqual(made[1])

      const [plain] = await commit([{ op: 'create', collectionId: collection.id, id: 'c', data: 3 }], keyed(undefined))
      expect(plain).not.toHaveProperty('idempotencyKey')
      expect(await readEverywhere(collection.id, 'c')).not.toHaveProperty('idempotencyKey')
    })

    it('single compare-and-set writes keep it, with and without the key’s scope, and a keyless write clears it', async () => {
      const collection = await newCollection()
      await commit([{ op: 'create', collectionId: collection.id, id: 'r', data: 0 }], keyed('k-0'))
      // No scope: PostgreSQL's one-statement write; with requireRole, its member variant.
      const [v2] = await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 1, baseVersion: 1 }], keyed('k-1'))
      expect(v2).toMatchObject({ version: 2, idempotencyKey: 'k-1' })
      expect(await readEverywhere(collection.id, 'r')).toEqual(v2)
      const [v3] = await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 2, baseVersion: 2 }], keyed('k-2', { requireRole: 'writer' }))
      expect(v3.idempotencyKey).toBe('k-2')
      expect(await readEverywhere(collection.id, 'r')).toEqual(v3)
      // With the scope (the general transaction).
      const [v4] = await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 3, baseVersion: 3 }], keyed('k-3', { idempotency: scope('k-3') }))
      expect(v4.idempotencyKey).toBe('k-3')
      expect(await readEverywhere(collection.id, 'r')).toEqual(v4)
      // Keyless, on each path: the previous version's key does not stay.
      const [v5] = await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 4, baseVersion: 4 }], keyed(undefined))
      expect(v5).not.toHaveProperty('idempotencyKey')
      expect(await readEverywhere(collection.id, 'r')).toEqual(v5)
      await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 5, baseVersion: 5 }], keyed('k-5'))
      const [v7] = await commit([{ op: 'update', collectionId: collection.id, id: 'r', data: 6, baseVersion: 6 }], keyed(undefined, { requireRole: 'writer' }))
      expect(await readEverywhere(collection.id, 'r')).toEqual(v7)
      expect(v7).not.toHaveProperty('idempotencyKey')
    })

    it('the general path (patches, deletes, re-creates, several records) keeps it on every version, tombstones included', async () => {
      const collection = await newCollection()
      await commit(
        [
          { op: 'create', collectionId: collection.id, id: 'a', data: { x: 1 } },
          { op: 'create', collectionId: collection.id, id: 'b', data: { x: 2 } }
        ],
        keyed(undefined)
      )
      const patched = await commit(
        [
          { op: 'patch', collectionId: collection.id, id: 'a', data: { y: 1 }, baseVersion: 1 },
          { op: 'patch', collectionId: collection.id, id: 'b', data: { y: 2 }, baseVersion: 1 }
        ],
        keyed('k-patch', { idempotency: scope('k-patch') })
      )
      expect(patched.map((record) => record.idempotencyKey)).toEqual(['k-patch', 'k-patch'])
      expect(await readEverywhere(collection.id, 'b')).toEqual(patched[1])

      const removed = await commit(
        [
          { op: 'delete', collectionId: collection.id, id: 'a', baseVersion: 2 },
          { op: 'delete', collectionId: collection.id, id: 'b', baseVersion: 2 }
        ],
        keyed('k-remove')
      )
      expect(removed.map((record) => [record.deleted, record.idempotencyKey])).toEqual([
        [true, 'k-remove'],
        [true, 'k-remove']
      ])
      expect(await readEverywhere(collection.id, 'a')).toEqual(removed[0])

      const [again] = await commit([{ op: 'create', collectionId: collection.id, id: 'a', data: 'back', baseVersion: 3 }], keyed('k-again'))
      expect(again.idempotencyKey).toBe('k-again')
      expect(await readEverywhere(collection.id, 'a')).toEqual(again)
      const [cleared] = await commit([{ op: 'patch', collectionId: collection.id, id: 'a', data: { z: 1 }, baseVersion: 4 }], keyed(undefined))
      expect(await readEverywhere(collection.id, 'a')).toEqual(cleared)
      expect(cleared).not.toHaveProperty('idempotencyKey')
    })

    it('a conflict’s current version carries the key that wrote it: a lost write recognises itself', async () => {
      const collection = await newCollection()
      const create: RecordWrite = { op: 'create', collectionId: collection.id, id: 'r', data: 1 }
      const [first] = await commit([create], keyed('k-mine'))
      // The same create again, its stored answer long gone (no scope): 'exists', current written with k-mine.
      const exists = await rejection(db.storage.commitWrites([create], keyed('k-mine')), 'conflict')
      expect(exists.conflicts).toEqual([{ collectionId: collection.id, id: 'r', reason: 'exists', current: first }])
      expect(exists.conflicts[0].current?.idempotencyKey).toBe('k-mine')

      const update: RecordWrite = { op: 'update', collectionId: collection.id, id: 'r', data: 2, baseVersion: 1 }
      const [second] = await commit([update], keyed('k-update', { requireRole: 'writer' }))
      const mismatch = await rejection(db.storage.commitWrites([update], keyed('k-update', { requireRole: 'writer' })), 'conflict')
      expect(mismatch.conflicts[0]).toMatchObject({ reason: 'version-mismatch', current: { ...second, idempotencyKey: 'k-update' } })
    })

    it('a batch commit writes every record with the commit call’s key, or with none', async () => {
      const collection = await newCollection()
      await commit([{ op: 'create', collectionId: collection.id, id: 'old', data: 0 }], keyed('k-old'))
      const commitBatch = async (operations: StagedOperation[], key: string | undefined): Promise<StoredRecord[]> => {
        const limits = { maxOperations: 10, maxBytes: 10_000, maxOpenPerUser: 10, maxStagedBytesPerUser: 100_000 }
        const id = fresh('b')
        await db.storage.openBatch({ id, userId: db.owner.id, expiresAt: at(86_400), declaredOperations: null, declaredBytes: null }, limits, now())
        await db.storage.stageOperations(id, { userId: db.owner.id, operations, limits, now: now() })
        const outcome = await db.storage.commitBatch(id, { userId: db.owner.id, conditions: [], context: keyed(key) })
        expect(outcome.batch.result?.records).toEqual(outcome.records)
        return outcome.records
      }

      const keyedRecords = await commitBatch(
        [
          { op: 'put', collectionId: collection.id, id: 'new', data: 1, baseVersion: null },
          { op: 'put', collectionId: collection.id, id: 'old', data: 1, baseVersion: 1 }
        ],
        'k-commit'
      )
      expect(keyedRecords.map((record) => record.idempotencyKey)).toEqual(['k-commit', 'k-commit'])
      expect(await readEverywhere(collection.id, 'old')).toEqual(keyedRecords[1])

      const plain = await commitBatch(
        [
          { op: 'put', collectionId: collection.id, id: 'new', data: 2, baseVersion: 1 },
          { op: 'delete', collectionId: collection.id, id: 'old', baseVersion: 2 }
        ],
        undefined
      )
      for (const record of plain) expect(record).not.toHaveProperty('idempotencyKey')
      expect(await readEverywhere(collection.id, 'new')).toEqual(plain[0])
      expect(await readEverywhere(collection.id, 'old')).toEqual(plain[1])
    })
  })
}
