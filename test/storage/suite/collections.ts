import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { rejection } from '../../helpers/storage.js'
import { byId, create, ids, now, range, remove, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * Collections: created at position 0 with an epoch, listed per member,
 * renamed and deleted (with exactly what deleting removes).
 */

export function collectionsTests(ctx: SuiteContext): void {
  describe('collections', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, commit, commitOne } = recordsKit(db)

    it('creates a collection at seq 0 with an epoch, and gets it back', async () => {
      const at = now()
      const id = `c-${randomUUID()}`
      const collection = await db.storage.createCollection({ id, name: 'pets', ownerId: db.owner.id }, at)
      expect(collection).toEqual({ id, name: 'pets', ownerId: db.owner.id, epoch: expect.any(String), seq: 0, createdAt: at, updatedAt: at })
      expect(collection.epoch.length).toBeGreaterThan(0)
      expect(await db.storage.getCollection(id)).toEqual(collection)
    })

    it('stores a null name', async () => {
      const collection = await newCollection(db.owner.id, null)
      expect(collection.name).toBeNull()
      expect((await db.storage.getCollection(collection.id))!.name).toBeNull()
    })

    it('returns undefined for an unknown collection', async () => {
      expect(await db.storage.getCollection(`c-${randomUUID()}`)).toBeUndefined()
    })

    it('refuses a duplicate id: already-exists, leaving the original untouched', async () => {
      const original = await newCollection()
      const error = await rejection(
        db.storage.createCollection({ id: original.id, name: 'other', ownerId: db.owner.id }, now()),
        'already-exists'
      )
      expect(error.cause).toBeInstanceOf(Error)
      expect(await db.storage.getCollection(original.id)).toEqual(original)
    })

    it('refuses a collection whose owner does not exist: not-found', async () => {
      const id = `c-${randomUUID()}`
      await rejection(db.storage.createCollection({ id, name: null, ownerId: randomUUID() }, now()), 'not-found')
      expect(await db.storage.getCollection(id)).toBeUndefined()
    })

    it('lists the collections of one member (with their role), paged', async () => {
      const alice = await newUser()
      const bob = await newUser()
      const nobody = await newUser()
      const alices = await Promise.all(range(1, 5).map(() => newCollection(alice.id)))
      const bobs = await Promise.all(range(1, 2).map(() => newCollection(bob.id)))

      const all = await db.storage.listCollections({ memberId: alice.id, limit: 100, skip: 0 })
      expect(all.total).toBe(5)
      expect([...all.data].sort(byId)).toEqual([...alices].map((collection) => ({ ...collection, role: 'owner' })).sort(byId))

      // Pages follow one stable order: no repeats, no gaps.
      const pages = await Promise.all(
        [0, 2, 4].map((skip) => db.storage.listCollections({ memberId: alice.id, limit: 2, skip }))
      )
      expect(pages.map((page) => page.total)).toEqual([5, 5, 5])
      expect(pages.map((page) => page.data.length)).toEqual([2, 2, 1])
      expect(pages.flatMap((page) => page.data)).toEqual(all.data)

      expect(await db.storage.listCollections({ memberId: alice.id, limit: 0, skip: 0 })).toEqual({ total: 5, data: [] })
      expect(await db.storage.listCollections({ memberId: alice.id, limit: 10, skip: 5 })).toEqual({ total: 5, data: [] })

      const bobsPage = await db.storage.listCollections({ memberId: bob.id, limit: 100, skip: 0 })
      expect(bobsPage.total).toBe(2)
      expect([...bobsPage.data].sort(byId)).toEqual([...bobs].map((collection) => ({ ...collection, role: 'owner' })).sort(byId))
      expect(await db.storage.listCollections({ memberId: nobody.id, limit: 100, skip: 0 })).toEqual({ total: 0, data: [] })
    })

    it('renames a collection, keeping everything else', async () => {
      const collection = await newCollection()
      await commitOne(create(collection.id, 'r', 1))
      const at = now()
      const renamed = await db.storage.renameCollection({ id: collection.id, name: 'renamed', actorId: db.owner.id, at })
      expect(renamed).toEqual({ ...collection, name: 'renamed', seq: 1, updatedAt: at })
      expect(await db.storage.getCollection(collection.id)).toEqual(renamed)

      const unnamed = await db.storage.renameCollection({ id: collection.id, name: null, actorId: db.owner.id, at: now() })
      expect(unnamed.name).toBeNull()
      expect((await db.storage.getCollection(collection.id))!.name).toBeNull()
    })

    it('renaming an unknown collection is not-found', async () => {
      const id = `c-${randomUUID()}`
      await rejection(db.storage.renameCollection({ id, name: 'x', actorId: db.owner.id, at: now() }), 'not-found')
      expect(await db.storage.getCollection(id)).toBeUndefined()
    })

    it('deletes a collection with all its records, and only those', async () => {
      const doomed = await newCollection()
      const other = await newCollection()
      await commit([create(doomed.id, 'a', 1), create(doomed.id, 'b', 2), create(other.id, 'a', 'kept')])
      await commitOne(remove(doomed.id, 'b', 1))
      const before = (await db.storage.getCollection(doomed.id))!

      expect(await db.storage.deleteCollection({ id: doomed.id, actorId: db.owner.id })).toEqual({ collection: before, members: [{ userId: db.owner.id, role: 'owner' }] })
      expect(await db.storage.getCollection(doomed.id)).toBeUndefined()
      expect(await db.storage.getRecord(doomed.id, 'a')).toBeUndefined()
      expect(await db.storage.getRecord(doomed.id, 'b')).toBeUndefined()
      for (const deleted of [false, true]) {
        const page = await db.storage.findRecords(doomed.id, { deleted, sort: [], limit: 100, skip: 0 })
        expect(page).toEqual({ total: 0, data: [] })
      }
      expect(await db.storage.changesSince(doomed.id, { since: 0, limit: 100 })).toEqual({ changes: [], more: false })
      const listed = await db.storage.listCollections({ memberId: db.owner.id, limit: 100_000, skip: 0 })
      expect(ids(listed.data)).not.toContain(doomed.id)

      // The other collection's record with the same id is untouched.
      expect(await db.storage.getRecord(other.id, 'a')).toMatchObject({ data: 'kept', version: 1 })
    })

    it('deleting an unknown (or already deleted) collection is not-found', async () => {
      await rejection(db.storage.deleteCollection({ id: `c-${randomUUID()}`, actorId: db.owner.id }), 'not-found')
      const collection = await newCollection()
      await db.storage.deleteCollection({ id: collection.id, actorId: db.owner.id })
      await rejection(db.storage.deleteCollection({ id: collection.id, actorId: db.owner.id }), 'not-found')
    })

    it('a collection re-created under the same id starts afresh with a new epoch', async () => {
      const first = await newCollection()
      await commit([create(first.id, 'a', 'old'), create(first.id, 'b', 'old')])
      await commitOne(update(first.id, 'a', 'older', 1))
      await db.storage.deleteCollection({ id: first.id, actorId: db.owner.id })

      const again = await db.storage.createCollection({ id: first.id, name: 'again', ownerId: db.owner.id }, now())
      expect(again.epoch).not.toBe(first.epoch)
      expect(again.seq).toBe(0)
      expect(await db.storage.getRecord(first.id, 'a')).toBeUndefined()
      expect(await db.storage.changesSince(first.id, { since: 0, limit: 100 })).toEqual({ changes: [], more: false })

      // Old ids are free again: a plain create at version 1, positions from 1.
      const result = await commit([create(first.id, 'a', 'new')])
      expect(result.records[0]).toMatchObject({ version: 1, seq: 1, data: 'new' })
      expect(result.positions).toEqual({ [first.id]: { seq: 1, epoch: again.epoch } })
    })
  })
}
