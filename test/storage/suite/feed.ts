import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { recordOfChange } from '../../../src/storage/changes.js'
import type { RecordWrite, StoredRecord } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { context, create, patch, remove, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * The feed: dense change positions per collection, and changesSince
 * returning each record once in its latest state.
 */

export function feedTests(ctx: SuiteContext): void {
  describe('feed: change positions and changesSince', () => {
    const db = useStorage(ctx)
    const { newCollection, commit, commitOne, seqOf, snapshot, allChanges } = recordsKit(db)

    describe('commitWrites: change positions', () => {
      it('returns the new state of every write, in write order, with consecutive positions', async () => {
        const collection = await newCollection()
        const c = collection.id
        await commitOne(create(c, 'first', 0))
        const ctx = context(db.owner.id)
        const result = await db.storage.commitWrites([create(c, 'z', 1), update(c, 'first', 1, 1), create(c, 'a', 2)], ctx)
        expect(result.records.map((record) => [record.id, record.version, record.seq])).toEqual([
          ['z', 1, 2],
          ['first', 2, 3],
          ['a', 1, 4]
        ])
        for (const record of result.records) expect(await db.storage.getRecord(c, record.id)).toEqual(record)
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
        const page = await db.storage.changesSince(c, { since: 0, limit: 100 })
        expect(page.more).toBe(false)
        expect(page.changes.map(recordOfChange)).toEqual(latest())
        expect(page.changes.map((r) => [r.id, r.seq, r.version, r.deleted])).toEqual([
          ['c', 3, 1, false],
          ['b', 5, 2, true],
          ['d', 6, 1, false],
          ['a', 7, 3, false]
        ])
        expect(page.changes[1].dataJson).toBeNull()
        for (const change of page.changes) expect(await db.storage.getRecord(c, change.id)).toEqual(recordOfChange(change))
      })

      it('returns only changes after `since`', async () => {
        expect((await db.storage.changesSince(c, { since: 3, limit: 100 })).changes.map((r) => r.id)).toEqual(['b', 'd', 'a'])
        expect((await db.storage.changesSince(c, { since: 4, limit: 100 })).changes.map((r) => r.id)).toEqual(['b', 'd', 'a'])
        expect((await db.storage.changesSince(c, { since: 6, limit: 100 })).changes.map((r) => r.id)).toEqual(['a'])
        expect(await db.storage.changesSince(c, { since: 7, limit: 100 })).toEqual({ changes: [], more: false })
        expect(await db.storage.changesSince(c, { since: 1000, limit: 100 })).toEqual({ changes: [], more: false })
      })

      it('honours limit and says whether more follow', async () => {
        const first = await db.storage.changesSince(c, { since: 0, limit: 2 })
        expect(first.changes.map((r) => r.id)).toEqual(['c', 'b'])
        expect(first.more).toBe(true)
        // Exactly `limit` left: all of them, and no more.
        const rest = await db.storage.changesSince(c, { since: first.changes[1].seq, limit: 2 })
        expect(rest.changes.map((r) => r.id)).toEqual(['d', 'a'])
        expect(rest.more).toBe(false)
        expect((await db.storage.changesSince(c, { since: 0, limit: 4 })).more).toBe(false)
        expect((await db.storage.changesSince(c, { since: 0, limit: 3 })).more).toBe(true)
      })

      it('paging one change at a time sees every change once', async () => {
        expect(await allChanges(c, 1)).toEqual(latest())
      })

      it('an unknown collection has no changes', async () => {
        expect(await db.storage.changesSince(`c-${randomUUID()}`, { since: 0, limit: 10 })).toEqual({ changes: [], more: false })
      })
    })
  })
}
