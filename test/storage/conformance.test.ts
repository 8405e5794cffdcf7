import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStorage, StorageError, type Storage } from '../../src/storage/index.js'
import type { RecordConflict } from '../../src/storage/errors.js'
import type {
  JsonValue,
  RecordWrite,
  SortField,
  StoredCollection,
  StoredRecord,
  StoredUser,
  WriteContext
} from '../../src/storage/types.js'
import { rejection } from '../helpers/storage.js'
import { describeBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * The storage conformance suite: the behaviour every backend of the storage
 * port (src/storage/types.ts) must have, exercised through that interface
 * only. Every backend is bound to it via describeBackends; a new backend is
 * done when this file passes against it unchanged.
 */

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Strictly increasing ISO timestamps, so `updatedAt` values are distinct and predictable. */
let tick = 0
const now = (): string => new Date(Date.UTC(2026, 0, 1) + ++tick * 1000).toISOString()

const context = (actor: string | null, extra: Partial<WriteContext> = {}): WriteContext => ({ actor, at: now(), ...extra })

/** Write builders, so tests read as a list of operations. */
const create = (collectionId: string, id: string, data: JsonValue, baseVersion?: number): RecordWrite =>
  baseVersion === undefined ? { op: 'create', collectionId, id, data } : { op: 'create', collectionId, id, data, baseVersion }
const update = (collectionId: string, id: string, data: JsonValue, baseVersion: number): RecordWrite => ({
  op: 'update',
  collectionId,
  id,
  data,
  baseVersion
})
const patch = (collectionId: string, id: string, data: { [key: string]: JsonValue }, baseVersion: number): RecordWrite => ({
  op: 'patch',
  collectionId,
  id,
  data,
  baseVersion
})
const remove = (collectionId: string, id: string, baseVersion: number): RecordWrite => ({ op: 'delete', collectionId, id, baseVersion })

/** Codepoint order with null first: the order every backend sorts by. */
const compareValues = (a: string | number | null, b: string | number | null): number =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1

const byId = (a: { id: string }, b: { id: string }): number => compareValues(a.id, b.id)
const ids = (items: Array<{ id: string }>): string[] => items.map((item) => item.id)
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

// ---------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------

describeBackends('storage conformance', (backend) => {
  let database: TestDatabase
  let storage: Storage
  let owner: StoredUser

  beforeAll(async () => {
    database = await backend.create()
    storage = createStorage(database.databaseUrl, database.dataDir)
    await storage.migrate()
    owner = await newUser()
  })
  afterAll(async () => {
    await storage?.close()
    await database?.cleanup()
  })

  const newUser = (): Promise<StoredUser> =>
    storage.createUser({ email: `user-${randomUUID()}@example.com`, password: 'hash' }, now())

  const newCollection = (ownerId = owner.id, name: string | null = 'things'): Promise<StoredCollection> =>
    storage.createCollection({ id: `c-${randomUUID()}`, name, ownerId }, now())

  const commit = (writes: RecordWrite[], ctx: WriteContext = context(owner.id)) => storage.commitWrites(writes, ctx)

  /** Commits one write and returns the record it produced. */
  const commitOne = async (write: RecordWrite, ctx?: WriteContext): Promise<StoredRecord> => (await commit([write], ctx)).records[0]

  const seqOf = async (collectionId: string): Promise<number> => (await storage.getCollection(collectionId))!.seq

  /** Everything observable about a collection, to prove a failed commit applied nothing. */
  const snapshot = async (collectionId: string) => ({
    collection: await storage.getCollection(collectionId),
    changes: (await storage.changesSince(collectionId, { since: 0, limit: 100_000 })).changes
  })

  /** Every change of a collection, read a page at a time. */
  const allChanges = async (collectionId: string, limit = 1000): Promise<StoredRecord[]> => {
    const changes: StoredRecord[] = []
    for (let since = 0; ; ) {
      const page = await storage.changesSince(collectionId, { since, limit })
      changes.push(...page.changes)
      if (!page.more) return changes
      since = page.changes[page.changes.length - 1].seq
    }
  }

  describe('schema', () => {
    it('names its backend', () => {
      expect(storage.backend).toBe(backend.name)
    })

    it('migrate() is safe to call again, and keeps the data', async () => {
      const collection = await newCollection()
      const record = await commitOne(create(collection.id, 'kept', { a: 1 }))
      await storage.migrate()
      await storage.migrate()
      expect(await storage.getUser(owner.id)).toEqual(owner)
      expect(await storage.getCollection(collection.id)).toMatchObject({ id: collection.id, seq: 1 })
      expect(await storage.getRecord(collection.id, 'kept')).toEqual(record)
      // And the schema still works for writes.
      expect(await commitOne(update(collection.id, 'kept', { a: 2 }, 1))).toMatchObject({ version: 2, seq: 2 })
    })

    it('a second instance on the same database migrates and sees the same data (a restart)', async () => {
      const collection = await newCollection()
      const record = await commitOne(create(collection.id, 'shared', 'hello'))
      const again = createStorage(database.databaseUrl, database.dataDir)
      try {
        await again.migrate()
        expect(await again.getCollection(collection.id)).toMatchObject({ id: collection.id, epoch: collection.epoch, seq: 1 })
        expect(await again.getRecord(collection.id, 'shared')).toEqual(record)
        const next = (await again.commitWrites([update(collection.id, 'shared', 'world', 1)], context(owner.id))).records[0]
        expect(await storage.getRecord(collection.id, 'shared')).toEqual(next)
      } finally {
        await again.close()
      }
    })
  })

  describe('users', () => {
    it('creates a user and finds it by id and by e-mail', async () => {
      const email = `ada-${randomUUID()}@example.com`
      const at = now()
      const user = await storage.createUser({ email, password: 'secret-hash' }, at)
      expect(user).toEqual({ id: expect.any(String), email, password: 'secret-hash', createdAt: at })
      expect(user.id).not.toBe('')
      expect(await storage.getUser(user.id)).toEqual(user)
      expect(await storage.findUserByEmail(email)).toEqual(user)
    })

    it('gives every user its own id', async () => {
      const users = await Promise.all(range(1, 5).map(() => newUser()))
      expect(new Set(ids(users)).size).toBe(5)
    })

    it('returns undefined for unknown users', async () => {
      expect(await storage.getUser(randomUUID())).toBeUndefined()
      expect(await storage.findUserByEmail(`nobody-${randomUUID()}@example.com`)).toBeUndefined()
    })

    it('refuses a second user with the same e-mail: already-exists, translated from the driver', async () => {
      const email = `twice-${randomUUID()}@example.com`
      const first = await storage.createUser({ email, password: 'first' }, now())
      const error = await rejection(storage.createUser({ email, password: 'second' }, now()), 'already-exists')
      // The driver's error is kept as the cause for the logs, never as the message.
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause).not.toBeInstanceOf(StorageError)
      expect(error.message).not.toBe((error.cause as Error).message)
      expect(await storage.findUserByEmail(email)).toEqual(first)
    })

    it("replaces one user's password hash (setUserPassword), nobody else's; not-found for an unknown id", async () => {
      const [user, other] = await Promise.all([newUser(), newUser()])
      await storage.setUserPassword(user.id, 'new-hash')
      expect(await storage.getUser(user.id)).toEqual({ ...user, password: 'new-hash' })
      expect(await storage.getUser(other.id)).toEqual(other)
      await rejection(storage.setUserPassword(randomUUID(), 'new-hash'), 'not-found')
    })
  })

  describe('collections', () => {
    it('creates a collection at seq 0 with an epoch, and gets it back', async () => {
      const at = now()
      const id = `c-${randomUUID()}`
      const collection = await storage.createCollection({ id, name: 'pets', ownerId: owner.id }, at)
      expect(collection).toEqual({ id, name: 'pets', ownerId: owner.id, epoch: expect.any(String), seq: 0, createdAt: at, updatedAt: at })
      expect(collection.epoch.length).toBeGreaterThan(0)
      expect(await storage.getCollection(id)).toEqual(collection)
    })

    it('stores a null name', async () => {
      const collection = await newCollection(owner.id, null)
      expect(collection.name).toBeNull()
      expect((await storage.getCollection(collection.id))!.name).toBeNull()
    })

    it('returns undefined for an unknown collection', async () => {
      expect(await storage.getCollection(`c-${randomUUID()}`)).toBeUndefined()
    })

    it('refuses a duplicate id: already-exists, leaving the original untouched', async () => {
      const original = await newCollection()
      const error = await rejection(
        storage.createCollection({ id: original.id, name: 'other', ownerId: owner.id }, now()),
        'already-exists'
      )
      expect(error.cause).toBeInstanceOf(Error)
      expect(await storage.getCollection(original.id)).toEqual(original)
    })

    it('refuses a collection whose owner does not exist: not-found', async () => {
      const id = `c-${randomUUID()}`
      await rejection(storage.createCollection({ id, name: null, ownerId: randomUUID() }, now()), 'not-found')
      expect(await storage.getCollection(id)).toBeUndefined()
    })

    it('lists the collections of one member (with their role), paged', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const nobody = await newUser()
      const alices = await Promise.all(range(1, 5).map(() => newCollection(alice.id)))
      const bobs = await Promise.all(range(1, 2).map(() => newCollection(bob.id)))

      const all = await storage.listCollections({ memberId: alice.id, limit: 100, skip: 0 })
      expect(all.total).toBe(5)
      expect([...all.data].sort(byId)).toEqual([...alices].map((collection) => ({ ...collection, role: 'owner' })).sort(byId))

      // Pages follow one stable order: no repeats, no gaps.
      const pages = await Promise.all(
        [0, 2, 4].map((skip) => storage.listCollections({ memberId: alice.id, limit: 2, skip }))
      )
      expect(pages.map((page) => page.total)).toEqual([5, 5, 5])
      expect(pages.map((page) => page.data.length)).toEqual([2, 2, 1])
      expect(pages.flatMap((page) => page.data)).toEqual(all.data)

      expect(await storage.listCollections({ memberId: alice.id, limit: 0, skip: 0 })).toEqual({ total: 5, data: [] })
      expect(await storage.listCollections({ memberId: alice.id, limit: 10, skip: 5 })).toEqual({ total: 5, data: [] })

      const bobsPage = await storage.listCollections({ memberId: bob.id, limit: 100, skip: 0 })
      expect(bobsPage.total).toBe(2)
      expect([...bobsPage.data].sort(byId)).toEqual([...bobs].map((collection) => ({ ...collection, role: 'owner' })).sort(byId))
      expect(await storage.listCollections({ memberId: nobody.id, limit: 100, skip: 0 })).toEqual({ total: 0, data: [] })
    })

    it('renames a collection, keeping everything else', async () => {
      const collection = await newCollection()
      await commitOne(create(collection.id, 'r', 1))
      const at = now()
      const renamed = await storage.renameCollection(collection.id, 'renamed', at)
      expect(renamed).toEqual({ ...collection, name: 'renamed', seq: 1, updatedAt: at })
      expect(await storage.getCollection(collection.id)).toEqual(renamed)

      const unnamed = await storage.renameCollection(collection.id, null, now())
      expect(unnamed.name).toBeNull()
      expect((await storage.getCollection(collection.id))!.name).toBeNull()
    })

    it('renaming an unknown collection is not-found', async () => {
      const id = `c-${randomUUID()}`
      await rejection(storage.renameCollection(id, 'x', now()), 'not-found')
      expect(await storage.getCollection(id)).toBeUndefined()
    })

    it('deletes a collection with all its records, and only those', async () => {
      const doomed = await newCollection()
      const other = await newCollection()
      await commit([create(doomed.id, 'a', 1), create(doomed.id, 'b', 2), create(other.id, 'a', 'kept')])
      await commitOne(remove(doomed.id, 'b', 1))
      const before = (await storage.getCollection(doomed.id))!

      expect(await storage.deleteCollection(doomed.id)).toEqual(before)
      expect(await storage.getCollection(doomed.id)).toBeUndefined()
      expect(await storage.getRecord(doomed.id, 'a')).toBeUndefined()
      expect(await storage.getRecord(doomed.id, 'b')).toBeUndefined()
      for (const deleted of [false, true]) {
        const page = await storage.findRecords(doomed.id, { deleted, sort: [], limit: 100, skip: 0 })
        expect(page).toEqual({ total: 0, data: [] })
      }
      expect(await storage.changesSince(doomed.id, { since: 0, limit: 100 })).toEqual({ changes: [], more: false })
      const listed = await storage.listCollections({ memberId: owner.id, limit: 100_000, skip: 0 })
      expect(ids(listed.data)).not.toContain(doomed.id)

      // The other collection's record with the same id is untouched.
      expect(await storage.getRecord(other.id, 'a')).toMatchObject({ data: 'kept', version: 1 })
    })

    it('deleting an unknown (or already deleted) collection is not-found', async () => {
      await rejection(storage.deleteCollection(`c-${randomUUID()}`), 'not-found')
      const collection = await newCollection()
      await storage.deleteCollection(collection.id)
      await rejection(storage.deleteCollection(collection.id), 'not-found')
    })

    it('a collection re-created under the same id starts afresh with a new epoch', async () => {
      const first = await newCollection()
      await commit([create(first.id, 'a', 'old'), create(first.id, 'b', 'old')])
      await commitOne(update(first.id, 'a', 'older', 1))
      await storage.deleteCollection(first.id)

      const again = await storage.createCollection({ id: first.id, name: 'again', ownerId: owner.id }, now())
      expect(again.epoch).not.toBe(first.epoch)
      expect(again.seq).toBe(0)
      expect(await storage.getRecord(first.id, 'a')).toBeUndefined()
      expect(await storage.changesSince(first.id, { since: 0, limit: 100 })).toEqual({ changes: [], more: false })

      // Old ids are free again: a plain create at version 1, positions from 1.
      const result = await commit([create(first.id, 'a', 'new')])
      expect(result.records[0]).toMatchObject({ version: 1, seq: 1, data: 'new' })
      expect(result.positions).toEqual({ [first.id]: { seq: 1, epoch: again.epoch } })
    })
  })

  describe('commitWrites: versioning rules', () => {
    let collection: StoredCollection
    beforeAll(async () => {
      collection = await newCollection()
    })
    const c = () => collection.id

    it('create: version 1, the next position, the context recorded', async () => {
      const fresh = await newCollection()
      const ctx = context(owner.id)
      const result = await storage.commitWrites([create(fresh.id, 'r1', { name: 'Rex' })], ctx)
      const expected: StoredRecord = {
        collectionId: fresh.id,
        id: 'r1',
        version: 1,
        data: { name: 'Rex' },
        deleted: false,
        updatedAt: ctx.at,
        updatedBy: owner.id,
        seq: 1
      }
      expect(result).toEqual({ records: [expected], outcomes: ['created'], positions: { [fresh.id]: { seq: 1, epoch: fresh.epoch } }, replayed: false })
      expect(await storage.getRecord(fresh.id, 'r1')).toEqual(expected)
      expect(await seqOf(fresh.id)).toBe(1)
    })

    it('records a null actor as updatedBy null', async () => {
      const record = await commitOne(create(c(), 'anonymous', 1), context(null))
      expect(record.updatedBy).toBeNull()
      expect((await storage.getRecord(c(), 'anonymous'))!.updatedBy).toBeNull()
    })

    it('update with the current version replaces data and bumps version and position', async () => {
      const created = await commitOne(create(c(), 'u1', { a: 1, b: 2 }))
      const ctx = context(null)
      const updated = await commitOne(update(c(), 'u1', { c: 3 }, 1), ctx)
      expect(updated).toEqual({ ...created, version: 2, data: { c: 3 }, updatedAt: ctx.at, updatedBy: null, seq: created.seq + 1 })
      expect(await storage.getRecord(c(), 'u1')).toEqual(updated)
      expect(await seqOf(c())).toBe(updated.seq)
    })

    it('patch shallow-merges into object data', async () => {
      await commitOne(create(c(), 'p1', { a: 1, b: { x: 1 }, keep: [1, 2] }))
      const patched = await commitOne(patch(c(), 'p1', { b: { y: 2 }, c: 3, keep: [3] }, 1))
      expect(patched).toMatchObject({ version: 2, deleted: false, data: { a: 1, b: { y: 2 }, c: 3, keep: [3] } })
      const again = await commitOne(patch(c(), 'p1', { a: null }, 2))
      expect(again).toMatchObject({ version: 3, data: { a: null, b: { y: 2 }, c: 3, keep: [3] } })
      expect((await storage.getRecord(c(), 'p1'))!.data).toEqual(again.data)
    })

    it('patch replaces data that is not an object', async () => {
      for (const [i, data] of [null, 'text', 42, [1, 2]].entries()) {
        await commitOne(create(c(), `p-non-object-${i}`, data))
        const patched = await commitOne(patch(c(), `p-non-object-${i}`, { z: 1 }, 1))
        expect(patched).toMatchObject({ version: 2, data: { z: 1 } })
      }
    })

    it('delete leaves a tombstone: deleted, data null, version bumped', async () => {
      const created = await commitOne(create(c(), 'd1', { a: 1 }))
      const ctx = context(owner.id)
      const tombstone = await commitOne(remove(c(), 'd1', 1), ctx)
      expect(tombstone).toEqual({ ...created, version: 2, data: null, deleted: true, updatedAt: ctx.at, seq: created.seq + 1 })
      expect(await storage.getRecord(c(), 'd1')).toEqual(tombstone)
    })

    it('re-creating over a tombstone needs the tombstone version', async () => {
      await commitOne(create(c(), 'again', 'first life'))
      const tombstone = await commitOne(remove(c(), 'again', 1))

      for (const baseVersion of [undefined, 1, 3]) {
        const error = await rejection(commit([create(c(), 'again', 'x', baseVersion)]), 'conflict')
        expect(error.conflicts).toEqual([{ collectionId: c(), id: 'again', reason: 'version-mismatch', current: tombstone }])
      }
      expect(await storage.getRecord(c(), 'again')).toEqual(tombstone)

      const reborn = await commitOne(create(c(), 'again', 'second life', tombstone.version))
      expect(reborn).toMatchObject({ version: 3, deleted: false, data: 'second life', seq: tombstone.seq + 1 })
      expect(await storage.getRecord(c(), 'again')).toEqual(reborn)
    })

    it("create over a live record: conflict 'exists' with the current record", async () => {
      const live = await commitOne(create(c(), 'exists', { v: 1 }))
      for (const baseVersion of [undefined, 1]) {
        const error = await rejection(commit([create(c(), 'exists', { v: 2 }, baseVersion)]), 'conflict')
        expect(error.conflicts).toEqual([{ collectionId: c(), id: 'exists', reason: 'exists', current: live }])
      }
      expect(await storage.getRecord(c(), 'exists')).toEqual(live)
    })

    it("update/patch/delete on a stale version: conflict 'version-mismatch' with the current record", async () => {
      await commitOne(create(c(), 'stale', { n: 1 }))
      const current = await commitOne(update(c(), 'stale', { n: 2 }, 1))
      for (const write of [update(c(), 'stale', { n: 9 }, 1), patch(c(), 'stale', { n: 9 }, 1), remove(c(), 'stale', 1), update(c(), 'stale', { n: 9 }, 3)]) {
        const error = await rejection(commit([write]), 'conflict')
        expect(error.conflicts).toEqual([{ collectionId: c(), id: 'stale', reason: 'version-mismatch', current }])
      }
      expect(await storage.getRecord(c(), 'stale')).toEqual(current)
    })

    it("update/patch/delete on a tombstone: conflict 'deleted' with the tombstone", async () => {
      await commitOne(create(c(), 'gone', { n: 1 }))
      const tombstone = await commitOne(remove(c(), 'gone', 1))
      for (const baseVersion of [1, 2]) {
        for (const write of [update(c(), 'gone', 1, baseVersion), patch(c(), 'gone', { n: 1 }, baseVersion), remove(c(), 'gone', baseVersion)]) {
          const error = await rejection(commit([write]), 'conflict')
          expect(error.conflicts).toEqual([{ collectionId: c(), id: 'gone', reason: 'deleted', current: tombstone }])
        }
      }
      expect(await storage.getRecord(c(), 'gone')).toEqual(tombstone)
    })

    it("update/patch/delete on an id that never existed: conflict 'missing', current null", async () => {
      for (const write of [update(c(), 'never', 1, 1), patch(c(), 'never', { n: 1 }, 1), remove(c(), 'never', 1)]) {
        const error = await rejection(commit([write]), 'conflict')
        expect(error.conflicts).toEqual([{ collectionId: c(), id: 'never', reason: 'missing', current: null }])
      }
      expect(await storage.getRecord(c(), 'never')).toBeUndefined()
    })

    it('a failed commit does not use up positions', async () => {
      const fresh = await newCollection()
      await commitOne(create(fresh.id, 'a', 1))
      await rejection(commit([create(fresh.id, 'a', 2), create(fresh.id, 'b', 2)]), 'conflict')
      expect(await seqOf(fresh.id)).toBe(1)
      expect(await commitOne(create(fresh.id, 'b', 2))).toMatchObject({ seq: 2 })
    })
  })

  describe('commitWrites: all or nothing', () => {
    it('lists every conflict of a commit and applies none of its writes', async () => {
      const collection = await newCollection()
      const c = collection.id
      const live = await commitOne(create(c, 'live', { n: 1 }))
      await commitOne(create(c, 'fine', { n: 1 }))
      await commitOne(create(c, 'updated', { n: 1 }))
      const updated = await commitOne(update(c, 'updated', { n: 2 }, 1))
      await commitOne(create(c, 'tomb', { n: 1 }))
      const tomb = await commitOne(remove(c, 'tomb', 1))
      const before = await snapshot(c)

      const error = await rejection(
        commit([
          create(c, 'brand-new', { ok: true }), // fine on its own
          create(c, 'live', { n: 2 }), // exists
          update(c, 'updated', { n: 3 }, 1), // version-mismatch
          update(c, 'fine', { n: 2 }, 1), // fine on its own
          patch(c, 'tomb', { n: 2 }, 2), // deleted
          remove(c, 'nowhere', 1) // missing
        ]),
        'conflict'
      )
      const expected: RecordConflict[] = [
        { collectionId: c, id: 'live', reason: 'exists', current: live },
        { collectionId: c, id: 'updated', reason: 'version-mismatch', current: updated },
        { collectionId: c, id: 'tomb', reason: 'deleted', current: tomb },
        { collectionId: c, id: 'nowhere', reason: 'missing', current: null }
      ]
      expect([...error.conflicts].sort(byId)).toEqual([...expected].sort(byId))

      expect(await snapshot(c)).toEqual(before)
      expect(await storage.getRecord(c, 'brand-new')).toBeUndefined()
    })

    it('an upload of only new ids with some taken (live or tombstone) conflicts on just those and applies nothing', async () => {
      const collection = await newCollection()
      const c = collection.id
      const live = await commitOne(create(c, 'u-250', { n: 1 }))
      await commitOne(create(c, 'u-600', { n: 1 }))
      const tomb = await commitOne(remove(c, 'u-600', 1))
      const before = await snapshot(c)
      // More than one insert statement's worth, with taken ids in both statements.
      const upload = Array.from({ length: 700 }, (_, n) => create(c, `u-${n}`, { n }))
      const error = await rejection(commit(upload), 'conflict')
      expect([...error.conflicts].sort(byId)).toEqual([
        { collectionId: c, id: 'u-250', reason: 'exists', current: live },
        { collectionId: c, id: 'u-600', reason: 'version-mismatch', current: tomb }
      ])
      expect(await snapshot(c)).toEqual(before)
      expect(await storage.getRecord(c, 'u-0')).toBeUndefined()

      // Without the taken ids the same upload goes through, at dense positions.
      const result = await commit(upload.filter((write) => write.id !== 'u-250' && write.id !== 'u-600'))
      expect(result.outcomes.every((outcome) => outcome === 'created')).toBe(true)
      expect(result.records.map((record) => record.seq)).toEqual(Array.from({ length: 698 }, (_, n) => before.collection!.seq + 1 + n))
      expect(await storage.getRecord(c, 'u-699')).toMatchObject({ version: 1, data: { n: 699 }, seq: before.collection!.seq + 698 })
    })

    it('applies nothing when only the last of several valid-looking writes conflicts', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commit([create(c, 'a', 1), create(c, 'b', 1)])
      const before = await snapshot(c)
      const error = await rejection(
        commit([update(c, 'a', 2, 1), remove(c, 'b', 1), create(c, 'c', 1), update(c, 'zz', 1, 1)]),
        'conflict'
      )
      expect(error.conflicts.map((conflict) => [conflict.id, conflict.reason])).toEqual([['zz', 'missing']])
      expect(await snapshot(c)).toEqual(before)
    })

    it('refuses an id written twice in one commit: invalid, nothing applied', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commitOne(create(c, 'a', 1))
      const before = await snapshot(c)
      await rejection(commit([create(c, 'b', 1), update(c, 'a', 2, 1), patch(c, 'a', { x: 1 }, 2)]), 'invalid')
      await rejection(commit([create(c, 'new', 1), remove(c, 'new', 1)]), 'invalid')
      expect(await snapshot(c)).toEqual(before)
    })

    it('handles a commit larger than one statement takes, all or nothing', async () => {
      const collection = await newCollection()
      const c = collection.id
      const n = 1000
      const created = await commit(range(1, n).map((i) => create(c, `r${i}`, { i })))
      expect(created.records.map((record) => record.seq)).toEqual(range(1, n))
      expect((await storage.findRecords(c, { deleted: false, sort: [], limit: 0, skip: 0 })).total).toBe(n)

      // One stale base version at the very end of a big commit stops all of it.
      const before = await snapshot(c)
      const writes = range(1, n).map((i) => update(c, `r${i}`, { i, updated: true }, i === n ? 2 : 1))
      const error = await rejection(commit(writes), 'conflict')
      expect(error.conflicts.map((conflict) => conflict.id)).toEqual([`r${n}`])
      expect(await snapshot(c)).toEqual(before)

      writes[n - 1] = update(c, `r${n}`, { i: n, updated: true }, 1)
      const updated = await commit(writes)
      expect(updated.records.every((record) => record.version === 2)).toBe(true)
      expect(updated.positions[c].seq).toBe(2 * n)
      expect((await storage.getRecord(c, 'r1'))!.data).toEqual({ i: 1, updated: true })
    })

    it('the same id in two collections is two records, not a duplicate', async () => {
      const one = await newCollection()
      const two = await newCollection()
      const result = await commit([create(one.id, 'same', 'one'), create(two.id, 'same', 'two')])
      expect(result.records.map((record) => [record.collectionId, record.id, record.data, record.seq])).toEqual([
        [one.id, 'same', 'one', 1],
        [two.id, 'same', 'two', 1]
      ])
      expect((await storage.getRecord(one.id, 'same'))!.data).toBe('one')
      expect((await storage.getRecord(two.id, 'same'))!.data).toBe('two')
    })

    it('writes to a missing collection are not-found, and nothing else in the commit applies', async () => {
      const missing = `c-${randomUUID()}`
      await rejection(commit([create(missing, 'a', 1)]), 'not-found')
      expect(await storage.getRecord(missing, 'a')).toBeUndefined()

      const existing = await newCollection()
      const before = await snapshot(existing.id)
      // Ids on both sides of the missing one, in case a backend walks them in order.
      for (const other of [`a-${randomUUID()}`, `z-${randomUUID()}`]) {
        await rejection(commit([create(existing.id, 'x', 1), create(other, 'y', 1)]), 'not-found')
      }
      expect(await snapshot(existing.id)).toEqual(before)
    })

    it("a patch whose merged data is too big is 'too-large', and nothing applies", async () => {
      const collection = await newCollection()
      const c = collection.id
      await commit([create(c, 'big', { a: 'é'.repeat(20) }), create(c, 'small', { n: 1 })])
      const before = await snapshot(c)

      // The patch alone is small; merged it is not. Bytes, not characters, count.
      const addition = { b: 'é'.repeat(20) }
      const mergedBytes = Buffer.byteLength(JSON.stringify({ a: 'é'.repeat(20), ...addition }))
      expect(Buffer.byteLength(JSON.stringify(addition))).toBeLessThan(mergedBytes - 1)
      const tooSmall = { maxDataBytes: mergedBytes - 1 }

      await rejection(commit([patch(c, 'big', addition, 1)], context(owner.id, tooSmall)), 'too-large')
      await rejection(
        commit([update(c, 'small', { n: 2 }, 1), create(c, 'extra', 1), patch(c, 'big', addition, 1)], context(owner.id, tooSmall)),
        'too-large'
      )
      expect(await snapshot(c)).toEqual(before)

      // Exactly at the limit is fine.
      const patched = await commitOne(patch(c, 'big', addition, 1), context(owner.id, { maxDataBytes: mergedBytes }))
      expect(patched).toMatchObject({ version: 2, data: { a: 'é'.repeat(20), b: 'é'.repeat(20) } })
    })
  })

  describe('commitWrites: change positions', () => {
    it('returns the new state of every write, in write order, with consecutive positions', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commitOne(create(c, 'first', 0))
      const ctx = context(owner.id)
      const result = await storage.commitWrites([create(c, 'z', 1), update(c, 'first', 1, 1), create(c, 'a', 2)], ctx)
      expect(result.records.map((record) => [record.id, record.version, record.seq])).toEqual([
        ['z', 1, 2],
        ['first', 2, 3],
        ['a', 1, 4]
      ])
      for (const record of result.records) expect(await storage.getRecord(c, record.id)).toEqual(record)
      expect(result.positions).toEqual({ [c]: { seq: 4, epoch: collection.epoch } })
      expect(await seqOf(c)).toBe(4)
    })

    it('positions are dense (1, 2, 3, …) per collection and independent across collections', async () => {
      const one = await newCollection()
      const two = await newCollection()
      const seen = new Map<string, number[]>([
        [one.id, []],
        [two.id, []]
      ])
      const record = (result: { records: StoredRecord[] }) => {
        for (const r of result.records) seen.get(r.collectionId)!.push(r.seq)
      }
      record(await commit([create(one.id, 'a', 1)]))
      record(await commit([create(two.id, 'a', 1), create(two.id, 'b', 1)]))
      record(await commit([update(one.id, 'a', 2, 1), create(one.id, 'b', 1), create(one.id, 'c', 1)]))
      record(await commit([remove(two.id, 'a', 1)]))
      record(await commit([create(one.id, 'd', 1), create(two.id, 'c', 1), update(two.id, 'b', 2, 1)]))

      expect(seen.get(one.id)).toEqual([1, 2, 3, 4, 5])
      expect(seen.get(two.id)).toEqual([1, 2, 3, 4, 5])
      expect(await seqOf(one.id)).toBe(5)
      expect(await seqOf(two.id)).toBe(5)
    })

    it('a multi-collection commit applies to all of them and reports each position', async () => {
      const one = await newCollection()
      const two = await newCollection()
      const untouched = await newCollection()
      await commitOne(create(one.id, 'x', 0))
      const result = await commit([create(two.id, 'a', 1), update(one.id, 'x', 1, 1), create(two.id, 'b', 1), create(one.id, 'y', 1)])
      expect(result.records.map((r) => [r.collectionId, r.id, r.seq])).toEqual([
        [two.id, 'a', 1],
        [one.id, 'x', 2],
        [two.id, 'b', 2],
        [one.id, 'y', 3]
      ])
      expect(result.positions).toEqual({
        [one.id]: { seq: 3, epoch: one.epoch },
        [two.id]: { seq: 2, epoch: two.epoch }
      })
      expect(await seqOf(untouched.id)).toBe(0)
    })

    it('a multi-collection commit with a conflict in one collection applies nothing in any', async () => {
      const one = await newCollection()
      const two = await newCollection()
      await commit([create(one.id, 'a', 1), create(two.id, 'a', 1)])
      const before = [await snapshot(one.id), await snapshot(two.id)]
      const error = await rejection(
        commit([update(one.id, 'a', 2, 1), create(one.id, 'b', 1), update(two.id, 'a', 2, 7), create(two.id, 'b', 1)]),
        'conflict'
      )
      expect(error.conflicts.map((conflict) => [conflict.collectionId, conflict.id, conflict.reason])).toEqual([
        [two.id, 'a', 'version-mismatch']
      ])
      expect([await snapshot(one.id), await snapshot(two.id)]).toEqual(before)
    })
  })

  describe('data round-trips unchanged', () => {
    const values: JsonValue[] = [
      null,
      true,
      false,
      0,
      1,
      -1,
      3.141592653589793,
      -2.5e-10,
      1e300,
      Number.MAX_SAFE_INTEGER,
      '',
      'plain',
      'ünïcødé ✓ 日本語 🦜 عربى',
      'quotes " \\ \n\t\r and a NUL \u0000 byte',
      '{"looks":"like json"}',
      [],
      [1, 'a', null, [true, [false]], { k: 'v' }],
      {},
      { nested: { deep: [1.5, -2, { x: null }] }, 'ü': '✓', '': 'empty key', '$set': 1, 'a.b': 2, _id: 'not mine' },
      { long: 'x'.repeat(100_000) }
    ]

    it('stores every JSON value as data, exactly as written', async () => {
      const collection = await newCollection()
      const c = collection.id
      const written = await commit(values.map((data, i) => create(c, `v${i}`, data)))
      const changes = (await storage.changesSince(c, { since: 0, limit: 1000 })).changes
      const found = await storage.findRecords(c, { deleted: false, sort: [['seq', 1]], limit: 1000, skip: 0 })
      for (const [i, data] of values.entries()) {
        const read = await storage.getRecord(c, `v${i}`)
        for (const record of [written.records[i], read, changes[i], found.data[i]]) {
          expect(record).toMatchObject({ id: `v${i}`, deleted: false })
          // Same value, and the same JSON text (key order included).
          expect(record!.data).toEqual(data)
          expect(JSON.stringify(record!.data)).toBe(JSON.stringify(data))
        }
      }
    })

    it('update and patch store values unchanged too', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commit(values.map((_, i) => create(c, `v${i}`, 'placeholder')))
      await commit(values.map((data, i) => update(c, `v${i}`, data, 1)))
      for (const [i, data] of values.entries()) {
        expect((await storage.getRecord(c, `v${i}`))!.data).toEqual(data)
      }
      const inner = { [`ключ 🔑`]: values, other: { deep: values[18] } }
      await commitOne(create(c, 'patched', {}))
      expect((await commitOne(patch(c, 'patched', inner, 1))).data).toEqual(inner)
      expect((await storage.getRecord(c, 'patched'))!.data).toEqual(inner)
    })
  })

  describe('findRecords', () => {
    let c: string
    let alice: StoredUser
    let bob: StoredUser
    /** Every record of the fixture, live and deleted, as stored. */
    let all: StoredRecord[]

    const find = (params: Partial<Parameters<Storage['findRecords']>[1]> = {}) =>
      storage.findRecords(c, { deleted: false, sort: [], limit: 1000, skip: 0, ...params })

    beforeAll(async () => {
      c = (await newCollection()).id
      alice = await newUser()
      bob = await newUser()
      // updatedAt deliberately out of commit order, so the sorts disagree.
      const at = (minute: number) => new Date(Date.UTC(2025, 5, 1, 12, minute)).toISOString()
      const steps: Array<[RecordWrite, string | null, number]> = [
        [create(c, 'delta', { n: 4 }), alice.id, 5],
        [create(c, 'alpha', { n: 1 }), bob.id, 2],
        [create(c, 'echo', { n: 5 }), null, 4],
        [create(c, 'charlie', { n: 3 }), alice.id, 1],
        [create(c, 'bravo', { n: 2 }), bob.id, 6],
        [create(c, 'golf', { n: 7 }), alice.id, 3],
        [create(c, 'foxtrot', { n: 6 }), alice.id, 10],
        [remove(c, 'foxtrot', 1), bob.id, 7],
        [update(c, 'alpha', { n: 1.1 }, 1), alice.id, 8],
        [patch(c, 'alpha', { m: 1 }, 2), alice.id, 9],
        [update(c, 'echo', { n: 5.5 }, 1), null, 0],
        [create(c, 'hotel', 8), null, 11],
        [remove(c, 'hotel', 1), alice.id, 12]
      ]
      for (const [write, actor, minute] of steps) await commitOne(write, { actor, at: at(minute) })
      all = (await storage.changesSince(c, { since: 0, limit: 1000 })).changes
      expect(all).toHaveLength(8)
    })

    const live = () => all.filter((record) => !record.deleted)
    const tombstones = () => all.filter((record) => record.deleted)

    it('lists live records by default, tombstones only when asked', async () => {
      const liveRecords = await find()
      expect(liveRecords.total).toBe(6)
      expect([...liveRecords.data].sort(byId)).toEqual([...live()].sort(byId))

      const deleted = await find({ deleted: true })
      expect(deleted.total).toBe(2)
      expect([...deleted.data].sort(byId)).toEqual([...tombstones()].sort(byId))
      expect(deleted.data.every((record) => record.deleted && record.data === null)).toBe(true)
    })

    it('filters by ids', async () => {
      const page = await find({ ids: ['alpha', 'charlie', 'foxtrot', 'no-such-id'], sort: [['id', 1]] })
      expect(page.total).toBe(2)
      expect(ids(page.data)).toEqual(['alpha', 'charlie'])
      expect(ids((await find({ deleted: true, ids: ['alpha', 'foxtrot'] })).data)).toEqual(['foxtrot'])
      expect(await find({ ids: [] })).toEqual({ total: 0, data: [] })
    })

    it('filters by updatedBy', async () => {
      const byAlice = await find({ updatedBy: alice.id, sort: [['id', 1]] })
      expect(ids(byAlice.data)).toEqual(['alpha', 'charlie', 'delta', 'golf'])
      expect(byAlice.total).toBe(4)
      expect(ids((await find({ updatedBy: bob.id })).data)).toEqual(['bravo'])
      expect(ids((await find({ updatedBy: bob.id, deleted: true })).data)).toEqual(['foxtrot'])
      expect(await find({ updatedBy: randomUUID() })).toEqual({ total: 0, data: [] })
      // Filters combine.
      expect(ids((await find({ updatedBy: alice.id, ids: ['alpha', 'bravo', 'golf'], sort: [['id', -1]] })).data)).toEqual(['golf', 'alpha'])
    })

    const fields: SortField[] = ['id', 'version', 'updatedAt', 'updatedBy', 'seq']
    for (const field of fields) {
      for (const direction of [1, -1] as const) {
        it(`sorts by ${field} ${direction === 1 ? 'ascending' : 'descending'}`, async () => {
          const expected = [...live()].sort((a, b) => direction * compareValues(a[field], b[field]) || byId(a, b))
          // With id as the tie-breaker the order is exact…
          const page = await find({ sort: [[field, direction], ['id', 1]] })
          expect(ids(page.data)).toEqual(ids(expected))
          // …and on its own the field alone is in order.
          const alone = await find({ sort: [[field, direction]] })
          expect(alone.data.map((record) => record[field])).toEqual(expected.map((record) => record[field]))
        })
      }
    }

    it('sorts by several fields', async () => {
      const page = await find({ sort: [['version', -1], ['updatedAt', 1]] })
      expect(ids(page.data)).toEqual(['alpha', 'echo', 'charlie', 'golf', 'delta', 'bravo'])
    })

    it('pages with limit and skip; total counts every match', async () => {
      const everything = ids((await find({ sort: [['updatedAt', 1]] })).data)
      expect(everything).toHaveLength(6)
      const pages: string[] = []
      for (const skip of [0, 4]) {
        const page = await find({ sort: [['updatedAt', 1]], limit: 4, skip })
        expect(page.total).toBe(6)
        pages.push(...ids(page.data))
      }
      expect(pages).toEqual(everything)
      expect(ids((await find({ sort: [['id', 1]], limit: 2, skip: 1 })).data)).toEqual(['bravo', 'charlie'])
      expect(await find({ limit: 0 })).toEqual({ total: 6, data: [] })
      expect(await find({ skip: 6 })).toEqual({ total: 6, data: [] })
      expect(await find({ updatedBy: alice.id, limit: 1 })).toMatchObject({ total: 4, data: [expect.anything()] })
    })

    it('pages one record at a time without repeats or gaps, even on a sort with ties', async () => {
      for (const sort of [[['version', 1]], [['updatedBy', -1]], []] as Array<Array<[SortField, 1 | -1]>>) {
        const whole = ids((await find({ sort })).data)
        const paged: string[] = []
        for (let skip = 0; skip < 6; skip++) paged.push(...ids((await find({ sort, limit: 1, skip })).data))
        expect(paged).toEqual(whole)
        expect([...paged].sort()).toEqual(ids(live()).sort())
      }
    })

    it('only sees its own collection', async () => {
      const other = await newCollection()
      await commitOne(create(other.id, 'alpha', 'elsewhere'))
      expect((await find()).total).toBe(6)
      expect(await storage.findRecords(other.id, { deleted: false, sort: [], limit: 10, skip: 0 })).toMatchObject({
        total: 1,
        data: [{ collectionId: other.id, id: 'alpha', data: 'elsewhere' }]
      })
    })
  })

  describe('changesSince', () => {
    let c: string
    /** seq → what that position holds, for reference. */
    let history: StoredRecord[]

    beforeAll(async () => {
      c = (await newCollection()).id
      const other = await newCollection()
      history = []
      const push = async (writes: RecordWrite[]) => history.push(...(await commit(writes)).records)
      await push([create(c, 'a', 1), create(c, 'b', 1), create(c, 'c', 1)]) // 1, 2, 3
      await commit([create(other.id, 'a', 'other collection')])
      await push([update(c, 'a', 2, 1)]) // 4: a moves to the end
      await push([remove(c, 'b', 1)]) // 5: b becomes a tombstone
      await push([create(c, 'd', 1)]) // 6
      await push([patch(c, 'a', { p: 1 }, 2)]) // 7: a moves again
    })

    const latest = () => {
      const byRecord = new Map(history.map((record) => [record.id, record]))
      return [...byRecord.values()].sort((x, y) => x.seq - y.seq)
    }

    it('returns each record once, in its latest state, in position order, tombstones included', async () => {
      const page = await storage.changesSince(c, { since: 0, limit: 100 })
      expect(page.more).toBe(false)
      expect(page.changes).toEqual(latest())
      expect(page.changes.map((r) => [r.id, r.seq, r.version, r.deleted])).toEqual([
        ['c', 3, 1, false],
        ['b', 5, 2, true],
        ['d', 6, 1, false],
        ['a', 7, 3, false]
      ])
      expect(page.changes[1].data).toBeNull()
      for (const change of page.changes) expect(await storage.getRecord(c, change.id)).toEqual(change)
    })

    it('returns only changes after `since`', async () => {
      expect((await storage.changesSince(c, { since: 3, limit: 100 })).changes.map((r) => r.id)).toEqual(['b', 'd', 'a'])
      expect((await storage.changesSince(c, { since: 4, limit: 100 })).changes.map((r) => r.id)).toEqual(['b', 'd', 'a'])
      expect((await storage.changesSince(c, { since: 6, limit: 100 })).changes.map((r) => r.id)).toEqual(['a'])
      expect(await storage.changesSince(c, { since: 7, limit: 100 })).toEqual({ changes: [], more: false })
      expect(await storage.changesSince(c, { since: 1000, limit: 100 })).toEqual({ changes: [], more: false })
    })

    it('honours limit and says whether more follow', async () => {
      const first = await storage.changesSince(c, { since: 0, limit: 2 })
      expect(first.changes.map((r) => r.id)).toEqual(['c', 'b'])
      expect(first.more).toBe(true)
      // Exactly `limit` left: all of them, and no more.
      const rest = await storage.changesSince(c, { since: first.changes[1].seq, limit: 2 })
      expect(rest.changes.map((r) => r.id)).toEqual(['d', 'a'])
      expect(rest.more).toBe(false)
      expect((await storage.changesSince(c, { since: 0, limit: 4 })).more).toBe(false)
      expect((await storage.changesSince(c, { since: 0, limit: 3 })).more).toBe(true)
    })

    it('paging one change at a time sees every change once', async () => {
      expect(await allChanges(c, 1)).toEqual(latest())
    })

    it('an unknown collection has no changes', async () => {
      expect(await storage.changesSince(`c-${randomUUID()}`, { since: 0, limit: 10 })).toEqual({ changes: [], more: false })
    })
  })

  describe('concurrency', () => {
    it('of 10 concurrent updates on the same base version exactly one wins; the rest conflict', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commitOne(create(c, 'contended', { writer: -1 }))

      const results = await Promise.allSettled(
        range(0, 9).map((writer) => commit([update(c, 'contended', { writer }, 1)], context(owner.id)))
      )
      const winners = results.filter((result) => result.status === 'fulfilled')
      const losers = results.filter((result) => result.status === 'rejected')
      expect(winners).toHaveLength(1)
      expect(losers).toHaveLength(9)

      const winner = winners[0].value.records[0]
      expect(winner).toMatchObject({ version: 2, seq: 2 })
      for (const loser of losers) {
        expect(loser.reason).toBeInstanceOf(StorageError)
        const error = loser.reason as StorageError
        expect(error.kind).toBe('conflict')
        expect(error.conflicts).toEqual([{ collectionId: c, id: 'contended', reason: 'version-mismatch', current: winner }])
      }
      expect(await storage.getRecord(c, 'contended')).toEqual(winner)
      expect(await seqOf(c)).toBe(2)
    })

    it("of 10 concurrent creates of one new id exactly one wins; the rest conflict with 'exists'", async () => {
      const collection = await newCollection()
      const c = collection.id
      const results = await Promise.allSettled(range(0, 9).map((writer) => commit([create(c, 'new', { writer })])))
      const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.records[0]] : []))
      expect(winners).toHaveLength(1)
      expect(winners[0]).toMatchObject({ version: 1, seq: 1 })
      for (const result of results) {
        if (result.status === 'fulfilled') continue
        const error = result.reason as StorageError
        expect(error).toBeInstanceOf(StorageError)
        expect(error.kind).toBe('conflict')
        expect(error.conflicts).toEqual([{ collectionId: c, id: 'new', reason: 'exists', current: winners[0] }])
      }
      expect(await seqOf(c)).toBe(1)
    })

    it('concurrent patches and deletes of one record: one wins, nothing is lost or doubled', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commitOne(create(c, 'r', { n: 0 }))
      const writes = range(0, 9).map((i): RecordWrite => (i % 2 === 0 ? patch(c, 'r', { [`k${i}`]: i }, 1) : remove(c, 'r', 1)))
      const results = await Promise.allSettled(writes.map((write) => commit([write])))
      const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.records[0]] : []))
      expect(winners).toHaveLength(1)
      expect(results.filter((result) => result.status === 'rejected').every((result) => (result.reason as StorageError).kind === 'conflict')).toBe(true)
      expect(await storage.getRecord(c, 'r')).toEqual(winners[0])
      expect(winners[0]).toMatchObject({ version: 2, seq: 2 })
    })

    it('concurrent creates get unique, dense positions with no gaps', async () => {
      const collection = await newCollection()
      const c = collection.id
      // 40 commits of 1 to 3 records each.
      const commits = range(0, 39).map((i) => range(0, i % 3).map((j) => create(c, `r${i}-${j}`, { i, j })))
      const total = commits.reduce((sum, writes) => sum + writes.length, 0)

      const results = await Promise.all(commits.map((writes) => commit(writes)))
      for (const result of results) {
        const seqs = result.records.map((record) => record.seq)
        // One commit's records are consecutive, and the position it reports is its last.
        expect(seqs).toEqual(range(seqs[0], seqs[0] + seqs.length - 1))
        expect(result.positions[c].seq).toBe(seqs[seqs.length - 1])
      }
      const seqs = results.flatMap((result) => result.records.map((record) => record.seq)).sort((a, b) => a - b)
      expect(seqs).toEqual(range(1, total))
      expect(await seqOf(c)).toBe(total)

      const changes = await allChanges(c, 7)
      expect(changes.map((record) => record.seq)).toEqual(range(1, total))
      expect(new Set(ids(changes)).size).toBe(total)
    })

    it('concurrent multi-collection commits in opposite orders all succeed with dense positions', async () => {
      const one = await newCollection()
      const two = await newCollection()
      const results = await Promise.all(
        range(0, 19).map((i) => {
          const writes = [create(one.id, `r${i}`, i), create(two.id, `r${i}`, i)]
          return commit(i % 2 === 0 ? writes : writes.reverse())
        })
      )
      for (const collection of [one, two]) {
        const seqs = results.map((result) => result.positions[collection.id].seq).sort((a, b) => a - b)
        expect(seqs).toEqual(range(1, 20))
        expect((await allChanges(collection.id)).map((record) => record.seq)).toEqual(range(1, 20))
      }
    })

    it('a reader following the feed while writers commit misses no change', async () => {
      const collection = await newCollection()
      const c = collection.id
      const writers = 30
      const seen = new Set<string>()
      let since = 0
      const poll = async () => {
        for (;;) {
          const page = await storage.changesSince(c, { since, limit: 5 })
          for (const change of page.changes) {
            expect(change.seq).toBeGreaterThan(since)
            seen.add(change.id)
            since = change.seq
          }
          if (!page.more) return
        }
      }

      let done = false
      const reader = (async () => {
        while (!done) await poll()
      })()
      try {
        await Promise.all(range(1, writers).map((i) => commit([create(c, `w${i}`, i)])))
      } finally {
        done = true
        await reader
      }
      await poll()

      expect(seen.size).toBe(writers)
      expect(since).toBe(writers)
    })
  })
})
