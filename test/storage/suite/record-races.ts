import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/storage/index.js'
import type { RecordWrite } from '../../../src/storage/types.js'
import { context, create, ids, patch, range, remove, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * Concurrent record writes: one winner per base version, and dense
 * positions with no gap a reader following the feed could miss.
 */

export function recordRacesTests(ctx: SuiteContext): void {
  describe('concurrency', () => {
    const db = useStorage(ctx)
    const { newCollection, commit, commitOne, seqOf, allChanges } = recordsKit(db)

    it('of 10 concurrent updates on the same base version exactly one wins; the rest conflict', async () => {
      const collection = await newCollection()
      const c = collection.id
      await commitOne(create(c, 'contended', { writer: -1 }))

      const results = await Promise.allSettled(
        range(0, 9).map((writer) => commit([update(c, 'contended', { writer }, 1)], context(db.owner.id)))
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
      expect(await db.storage.getRecord(c, 'contended')).toEqual(winner)
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
      expect(await db.storage.getRecord(c, 'r')).toEqual(winners[0])
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
          const page = await db.storage.changesSince(c, { since, limit: 5 })
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
}
