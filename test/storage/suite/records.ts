import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { recordOfChange } from '../../../src/storage/changes.js'
import type { RecordConflict } from '../../../src/storage/errors.js'
import type { JsonValue, StoredCollection, StoredRecord } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { byId, context, create, patch, range, remove, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * Record writes (commitWrites): the versioning rules, all or nothing, and
 * data that round-trips unchanged.
 */

export function recordsTests(ctx: SuiteContext): void {
  describe('records: commitWrites', () => {
    const db = useStorage(ctx)
    const { newCollection, commit, commitOne, seqOf, snapshot } = recordsKit(db)

    describe('commitWrites: versioning rules', () => {
      let collection: StoredCollection
      beforeAll(async () => {
        collection = await newCollection()
      })
      const c = () => collection.id

      it('create: version 1, the next position, the context recorded', async () => {
        const fresh = await newCollection()
        const ctx = context(db.owner.id)
        const result = await db.storage.commitWrites([create(fresh.id, 'r1', { name: 'Rex' })], ctx)
        const expected: StoredRecord = {
          collectionId: fresh.id,
          id: 'r1',
          version: 1,
          data: { name: 'Rex' },
          deleted: false,
          updatedAt: ctx.at,
          updatedBy: db.owner.id,
          seq: 1
        }
        expect(result).toEqual({ records: [expected], outcomes: ['created'], positions: { [fresh.id]: { seq: 1, epoch: fresh.epoch } }, replayed: false })
        expect(await db.storage.getRecord(fresh.id, 'r1')).toEqual(expected)
        expect(await seqOf(fresh.id)).toBe(1)
      })

      it('records a null actor as updatedBy null', async () => {
        const record = await commitOne(create(c(), 'anonymous', 1), context(null))
        expect(record.updatedBy).toBeNull()
        expect((await db.storage.getRecord(c(), 'anonymous'))!.updatedBy).toBeNull()
      })

      it('update with the current version replaces data and bumps version and position', async () => {
        const created = await commitOne(create(c(), 'u1', { a: 1, b: 2 }))
        const ctx = context(null)
        const updated = await commitOne(update(c(), 'u1', { c: 3 }, 1), ctx)
        expect(updated).toEqual({ ...created, version: 2, data: { c: 3 }, updatedAt: ctx.at, updatedBy: null, seq: created.seq + 1 })
        expect(await db.storage.getRecord(c(), 'u1')).toEqual(updated)
        expect(await seqOf(c())).toBe(updated.seq)
      })

      it('patch shallow-merges into object data', async () => {
        await commitOne(create(c(), 'p1', { a: 1, b: { x: 1 }, keep: [1, 2] }))
        const patched = await commitOne(patch(c(), 'p1', { b: { y: 2 }, c: 3, keep: [3] }, 1))
        expect(patched).toMatchObject({ version: 2, deleted: false, data: { a: 1, b: { y: 2 }, c: 3, keep: [3] } })
        const again = await commitOne(patch(c(), 'p1', { a: null }, 2))
        expect(again).toMatchObject({ version: 3, data: { a: null, b: { y: 2 }, c: 3, keep: [3] } })
        expect((await db.storage.getRecord(c(), 'p1'))!.data).toEqual(again.data)
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
        const ctx = context(db.owner.id)
        const tombstone = await commitOne(remove(c(), 'd1', 1), ctx)
        expect(tombstone).toEqual({ ...created, version: 2, data: null, deleted: true, updatedAt: ctx.at, seq: created.seq + 1 })
        expect(await db.storage.getRecord(c(), 'd1')).toEqual(tombstone)
      })

      it('re-creating over a tombstone needs the tombstone version', async () => {
        await commitOne(create(c(), 'again', 'first life'))
        const tombstone = await commitOne(remove(c(), 'again', 1))

        for (const baseVersion of [undefined, 1, 3]) {
          const error = await rejection(commit([create(c(), 'again', 'x', baseVersion)]), 'conflict')
          expect(error.conflicts).toEqual([{ collectionId: c(), id: 'again', reason: 'version-mismatch', current: tombstone }])
        }
        expect(await db.storage.getRecord(c(), 'again')).toEqual(tombstone)

        const reborn = await commitOne(create(c(), 'again', 'second life', tombstone.version))
        expect(reborn).toMatchObject({ version: 3, deleted: false, data: 'second life', seq: tombstone.seq + 1 })
        expect(await db.storage.getRecord(c(), 'again')).toEqual(reborn)
      })

      it("create over a live record: conflict 'exists' with the current record", async () => {
        const live = await commitOne(create(c(), 'exists', { v: 1 }))
        for (const baseVersion of [undefined, 1]) {
          const error = await rejection(commit([create(c(), 'exists', { v: 2 }, baseVersion)]), 'conflict')
          expect(error.conflicts).toEqual([{ collectionId: c(), id: 'exists', reason: 'exists', current: live }])
        }
        expect(await db.storage.getRecord(c(), 'exists')).toEqual(live)
      })

      it("update/patch/delete on a stale version: conflict 'version-mismatch' with the current record", async () => {
        await commitOne(create(c(), 'stale', { n: 1 }))
        const current = await commitOne(update(c(), 'stale', { n: 2 }, 1))
        for (const write of [update(c(), 'stale', { n: 9 }, 1), patch(c(), 'stale', { n: 9 }, 1), remove(c(), 'stale', 1), update(c(), 'stale', { n: 9 }, 3)]) {
          const error = await rejection(commit([write]), 'conflict')
          expect(error.conflicts).toEqual([{ collectionId: c(), id: 'stale', reason: 'version-mismatch', current }])
        }
        expect(await db.storage.getRecord(c(), 'stale')).toEqual(current)
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
        expect(await db.storage.getRecord(c(), 'gone')).toEqual(tombstone)
      })

      it("update/patch/delete on an id that never existed: conflict 'missing', current null", async () => {
        for (const write of [update(c(), 'never', 1, 1), patch(c(), 'never', { n: 1 }, 1), remove(c(), 'never', 1)]) {
          const error = await rejection(commit([write]), 'conflict')
          expect(error.conflicts).toEqual([{ collectionId: c(), id: 'never', reason: 'missing', current: null }])
        }
        expect(await db.storage.getRecord(c(), 'never')).toBeUndefined()
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
        expect(await db.storage.getRecord(c, 'brand-new')).toBeUndefined()
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
        expect(await db.storage.getRecord(c, 'u-0')).toBeUndefined()

        // Without the taken ids the same upload goes through, at dense positions.
        const result = await commit(upload.filter((write) => write.id !== 'u-250' && write.id !== 'u-600'))
        expect(result.outcomes.every((outcome) => outcome === 'created')).toBe(true)
        expect(result.records.map((record) => record.seq)).toEqual(Array.from({ length: 698 }, (_, n) => before.collection!.seq + 1 + n))
        expect(await db.storage.getRecord(c, 'u-699')).toMatchObject({ version: 1, data: { n: 699 }, seq: before.collection!.seq + 698 })
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
        expect((await db.storage.findRecords(c, { deleted: false, sort: [], limit: 0, skip: 0 })).total).toBe(n)

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
        expect((await db.storage.getRecord(c, 'r1'))!.data).toEqual({ i: 1, updated: true })
      })

      it('the same id in two collections is two records, not a duplicate', async () => {
        const one = await newCollection()
        const two = await newCollection()
        const result = await commit([create(one.id, 'same', 'one'), create(two.id, 'same', 'two')])
        expect(result.records.map((record) => [record.collectionId, record.id, record.data, record.seq])).toEqual([
          [one.id, 'same', 'one', 1],
          [two.id, 'same', 'two', 1]
        ])
        expect((await db.storage.getRecord(one.id, 'same'))!.data).toBe('one')
        expect((await db.storage.getRecord(two.id, 'same'))!.data).toBe('two')
      })

      it('writes to a missing collection are not-found, and nothing else in the commit applies', async () => {
        const missing = `c-${randomUUID()}`
        await rejection(commit([create(missing, 'a', 1)]), 'not-found')
        expect(await db.storage.getRecord(missing, 'a')).toBeUndefined()

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

        await rejection(commit([patch(c, 'big', addition, 1)], context(db.owner.id, tooSmall)), 'too-large')
        await rejection(
          commit([update(c, 'small', { n: 2 }, 1), create(c, 'extra', 1), patch(c, 'big', addition, 1)], context(db.owner.id, tooSmall)),
          'too-large'
        )
        expect(await snapshot(c)).toEqual(before)

        // Exactly at the limit is fine.
        const patched = await commitOne(patch(c, 'big', addition, 1), context(db.owner.id, { maxDataBytes: mergedBytes }))
        expect(patched).toMatchObject({ version: 2, data: { a: 'é'.repeat(20), b: 'é'.repeat(20) } })
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
        const stored = (await db.storage.changesSince(c, { since: 0, limit: 1000 })).changes
        const changes = stored.map(recordOfChange)
        const found = await db.storage.findRecords(c, { deleted: false, sort: [['seq', 1]], limit: 1000, skip: 0 })
        for (const [i, data] of values.entries()) {
          const read = await db.storage.getRecord(c, `v${i}`)
          for (const record of [written.records[i], read, changes[i], found.data[i]]) {
            expect(record).toMatchObject({ id: `v${i}`, deleted: false })
            // Same value, and the same JSON text (key order included).
            expect(record!.data).toEqual(data)
            expect(JSON.stringify(record!.data)).toBe(JSON.stringify(data))
          }
          // The feed hands out the stored text itself: exactly the value's JSON.
          expect(stored[i].dataJson).toBe(JSON.stringify(data))
        }
      })

      it('update and patch store values unchanged too', async () => {
        const collection = await newCollection()
        const c = collection.id
        await commit(values.map((_, i) => create(c, `v${i}`, 'placeholder')))
        await commit(values.map((data, i) => update(c, `v${i}`, data, 1)))
        for (const [i, data] of values.entries()) {
          expect((await db.storage.getRecord(c, `v${i}`))!.data).toEqual(data)
        }
        const inner = { [`ключ 🔑`]: values, other: { deep: values[18] } }
        await commitOne(create(c, 'patched', {}))
        expect((await commitOne(patch(c, 'patched', inner, 1))).data).toEqual(inner)
        expect((await db.storage.getRecord(c, 'patched'))!.data).toEqual(inner)
      })
    })
  })
}
