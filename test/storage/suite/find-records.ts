import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { recordOfChange } from '../../../src/storage/changes.js'
import type { Storage } from '../../../src/storage/index.js'
import type { RecordWrite, SortField, StoredRecord, StoredUser } from '../../../src/storage/types.js'
import { byId, compareValues, create, ids, patch, remove, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * findRecords: filters, every sort, and pages without repeats or gaps.
 */

export function findRecordsTests(ctx: SuiteContext): void {
  describe('findRecords', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, commitOne } = recordsKit(db)

    let c: string
    let alice: StoredUser
    let bob: StoredUser
    /** Every record of the fixture, live and deleted, as stored. */
    let all: StoredRecord[]

    const find = (params: Partial<Parameters<Storage['findRecords']>[1]> = {}) =>
      db.storage.findRecords(c, { deleted: false, sort: [], limit: 1000, skip: 0, ...params })

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
      all = (await db.storage.changesSince(c, { since: 0, limit: 1000 })).changes.map(recordOfChange)
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
      expect(await db.storage.findRecords(other.id, { deleted: false, sort: [], limit: 10, skip: 0 })).toMatchObject({
        total: 1,
        data: [{ collectionId: other.id, id: 'alpha', data: 'elsewhere' }]
      })
    })
  })
}
