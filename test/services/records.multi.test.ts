import type { Paginated } from '@feathersjs/feathers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, recordsClient, type ClientApplication, type RecordItem } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, signedIn, TRANSPORTS, type TestClient, jsonHeaders } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * Several records in one call: `create([...])`, `patch(null, [{ id, data,
 * version }])` and `remove(null, { query: { versions: { [id]: version } } })`.
 * All or nothing: one conflict fails the whole call with a 409 that lists
 * every conflict, and nothing is written.
 */

const RECORD_BYTES = 256

interface CallParams {
  query?: Record<string, unknown>
}

/** The records client with the multi-record signatures the typed client leaves out. */
interface MultiRecords {
  find(params?: CallParams): Promise<Paginated<RecordItem>>
  get(id: string): Promise<RecordItem>
  create(data: unknown, params?: CallParams): Promise<RecordItem[]>
  patch(id: string | null, data: unknown, params?: CallParams): Promise<RecordItem[]>
  remove(id: string | null, params?: CallParams): Promise<RecordItem[]>
}

const multi = (client: ClientApplication, collectionId: string) => recordsClient(client, collectionId) as unknown as MultiRecords

/** `n` distinct, short, non-numeric ids (numeric-looking object keys would be reordered). */
const shortIds = (n: number) => {
  const first = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const second = `${first}0123456789`
  return Array.from({ length: n }, (_, i) => first[Math.floor(i / second.length)] + second[i % second.length])
}

// Also on the plain path ("[sqlite, no shortcuts]"…): these are the calls the storage speed-ups serve.
describeBackends('records: several in one call, all or nothing', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer(backend, { limits: { recordBytes: RECORD_BYTES } })
  })
  afterAll(async () => {
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient

      beforeAll(async () => {
        owner = await signedIn(server.url, transport)
      })
      afterAll(() => owner.close())

      /** A fresh collection and its records client. */
      async function fresh() {
        const { id: collectionId } = await owner.client.service('collections').create({})
        return { collectionId, records: multi(owner.client, collectionId) }
      }

      /** Everything a write could change: live records, tombstones, the feed, the collection's cursor. */
      async function snapshot(collectionId: string) {
        const records = multi(owner.client, collectionId)
        const feed = await changesClient(owner.client, collectionId).find({ query: { limit: 1000 } })
        return {
          live: (await records.find({ query: { $limit: 1000, $sort: { id: 1 } } })).data,
          tombstones: (await records.find({ query: { $limit: 1000, $sort: { id: 1 }, deleted: true } })).data,
          feed: feed.changes,
          feedCursor: feed.cursor,
          cursor: (await owner.client.service('collections').get(collectionId)).cursor
        }
      }

      /**
       * Records in every state a write can conflict with: `live` at version 1,
       * `stale` at version 2 (writes naming 1 are stale), `gone` a tombstone
       * at version 2; `never` does not exist.
       */
      async function fixture() {
        const { collectionId, records } = await fresh()
        const [live, stale] = await records.create([
          { id: 'live', data: { n: 1 } },
          { id: 'stale', data: { n: 1 } }
        ])
        await records.create([{ id: 'gone', data: { n: 1 } }])
        const [stale2] = await records.patch(null, [{ id: 'stale', data: { n: 2 }, version: 1 }])
        const [gone] = await records.remove(null, { query: { versions: { gone: 1 } } })
        expect(stale.version).toBe(1)
        return { collectionId, records, live, stale: stale2, gone }
      }

      describe('success', () => {
        it('create returns every record in the order given, with consecutive seqs', async () => {
          const { collectionId, records } = await fresh()
          const before = await snapshot(collectionId)
          const ids = ['e', 'a', 'd', 'b', 'c']
          const created = await records.create(ids.map((id, index) => ({ id, data: { index } })))
          expect(created.map((record) => record.id)).toEqual(ids)
          expect(created.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5])
          for (const [index, record] of created.entries()) {
            expect(record).toMatchObject({ collectionId, version: 1, deleted: false, data: { index }, updatedBy: owner.user.id })
            expect(await records.get(record.id)).toEqual(record)
          }
          const after = await snapshot(collectionId)
          expect(after.feed).toEqual(created)
          expect(after.cursor).not.toBe(before.cursor)
        })

        it('create generates the ids it is not given', async () => {
          const { records } = await fresh()
          const created = await records.create([{ data: 1 }, { id: 'chosen', data: 2 }, { data: 3 }])
          expect(created.map((record) => record.data)).toEqual([1, 2, 3])
          expect(created[1].id).toBe('chosen')
          expect(new Set(created.map((record) => record.id)).size).toBe(3)
          expect(created[0].id).toMatch(/^[0-9a-f-]{36}$/)
        })

        it('patch merges into every record, in the order given, with consecutive seqs', async () => {
          const { collectionId, records } = await fresh()
          const created = await records.create(['a', 'b', 'c'].map((id) => ({ id, data: { id, keep: true } })))
          const patched = await records.patch(null, [
            { id: 'c', data: { n: 3 }, version: 1 },
            { id: 'a', data: { n: 1 }, version: 1 }
          ])
          expect(patched.map((record) => record.id)).toEqual(['c', 'a'])
          expect(patched.map((record) => record.seq)).toEqual([created[2].seq + 1, created[2].seq + 2])
          expect(patched[0]).toMatchObject({ version: 2, data: { id: 'c', keep: true, n: 3 } })
          expect(patched[1]).toMatchObject({ version: 2, data: { id: 'a', keep: true, n: 1 } })
          expect(await records.get('b')).toEqual(created[1])
          expect((await snapshot(collectionId)).feed.slice(-2)).toEqual(patched)
        })

        it('remove leaves a tombstone of every record, with consecutive seqs', async () => {
          const { collectionId, records } = await fresh()
          const created = await records.create(['a', 'b', 'c'].map((id) => ({ id, data: id })))
          const removed = await records.remove(null, { query: { versions: { c: 1, a: 1 } } })
          expect(removed.map((record) => record.id).sort()).toEqual(['a', 'c'])
          expect(removed.map((record) => record.seq).sort()).toEqual([created[2].seq + 1, created[2].seq + 2])
          for (const record of removed) {
            expect(record).toMatchObject({ collectionId, version: 2, deleted: true, data: null })
            expect((await failure(records.get(record.id))).code).toBe(404)
          }
          const after = await snapshot(collectionId)
          expect(after.live).toEqual([created[1]])
          expect(after.tombstones.map((record) => record.id)).toEqual(['a', 'c'])
        })

        it('takes up to 1000 items in one call', async () => {
          const { collectionId, records } = await fresh()
          const ids = shortIds(1000)
          const created = await records.create(ids.map((id) => ({ id, data: 0 })))
          expect(created).toHaveLength(1000)
          expect(created.at(-1)!.seq).toBe(1000)
          const patched = await records.patch(
            null,
            ids.map((id) => ({ id, data: { n: 1 }, version: 1 }))
          )
          expect(patched).toHaveLength(1000)
          expect(patched.every((record, index) => record.seq === 1001 + index && record.version === 2)).toBe(true)
          // The query string of 1000 versions is too long for a URL; socket.io has no such limit.
          if (transport === 'socketio') {
            const removed = await records.remove(null, { query: { versions: Object.fromEntries(ids.map((id) => [id, 2])) } })
            expect(removed).toHaveLength(1000)
            expect((await snapshot(collectionId)).live).toEqual([])
          }
        })
      })

      describe('all or nothing', () => {
        it('create: one conflict fails the call with 409 listing every conflict, and nothing changes', async () => {
          const { collectionId, records, live, gone } = await fixture()
          const before = await snapshot(collectionId)
          const error = await failure(
            records.create([
              { id: 'new1', data: 1 },
              { id: 'live', data: 2 }, // exists
              { id: 'gone', data: 3 }, // over a tombstone without its version
              { id: 'new2', data: 4 },
              { id: 'gone2', data: 5 }
            ])
          )
          expect(error.code).toBe(409)
          expect(error.message).toBe('2 records conflict; nothing was written')
          expect(error.data).toEqual({
            conflicts: [
              { collectionId, id: 'live', reason: 'exists', current: live },
              { collectionId, id: 'gone', reason: 'version-mismatch', current: gone }
            ]
          })
          expect(await snapshot(collectionId)).toEqual(before)

          // Re-creating over a tombstone with a wrong version conflicts too.
          const wrongVersion = await failure(records.create([{ id: 'gone', data: 3, version: 1 }, { id: 'new3', data: 1 }]))
          expect(wrongVersion.data.conflicts).toEqual([{ collectionId, id: 'gone', reason: 'version-mismatch', current: gone }])
          expect(await snapshot(collectionId)).toEqual(before)
        })

        it('patch: 409 listing every conflict (version-mismatch, deleted, missing), and nothing changes', async () => {
          const { collectionId, records, stale, gone } = await fixture()
          const before = await snapshot(collectionId)
          const error = await failure(
            records.patch(null, [
              { id: 'live', data: { x: 1 }, version: 1 },
              { id: 'stale', data: { x: 1 }, version: 1 },
              { id: 'gone', data: { x: 1 }, version: 2 },
              { id: 'never', data: { x: 1 }, version: 1 }
            ])
          )
          expect(error.code).toBe(409)
          expect(error.message).toBe('3 records conflict; nothing was written')
          expect(error.data).toEqual({
            conflicts: [
              { collectionId, id: 'stale', reason: 'version-mismatch', current: stale },
              { collectionId, id: 'gone', reason: 'deleted', current: gone },
              { collectionId, id: 'never', reason: 'missing', current: null }
            ]
          })
          expect(await snapshot(collectionId)).toEqual(before)
        })

        it('remove: 409 listing every conflict (version-mismatch, deleted, missing), and nothing changes', async () => {
          const { collectionId, records, stale, gone } = await fixture()
          const before = await snapshot(collectionId)
          const error = await failure(records.remove(null, { query: { versions: { live: 1, stale: 1, gone: 2, never: 1 } } }))
          expect(error.code).toBe(409)
          expect(error.message).toBe('3 records conflict; nothing was written')
          const byId = (error.data.conflicts as Array<{ id: string }>).slice().sort((a, b) => a.id.localeCompare(b.id))
          expect(byId).toEqual([
            { collectionId, id: 'gone', reason: 'deleted', current: gone },
            { collectionId, id: 'never', reason: 'missing', current: null },
            { collectionId, id: 'stale', reason: 'version-mismatch', current: stale }
          ])
          expect(await snapshot(collectionId)).toEqual(before)
        })

        it('a single conflict in a multi call is still a 409 with the conflicts list (a missing record is not a 404)', async () => {
          const { collectionId, records } = await fixture()
          const before = await snapshot(collectionId)
          const error = await failure(records.patch(null, [{ id: 'live', data: { y: 1 }, version: 1 }, { id: 'never', data: {}, version: 1 }]))
          expect(error.code).toBe(409)
          expect(error.data).toEqual({ conflicts: [{ collectionId, id: 'never', reason: 'missing', current: null }] })
          const removal = await failure(records.remove(null, { query: { versions: { never: 1 } } }))
          expect(removal.code).toBe(409)
          expect(removal.data).toEqual({ conflicts: [{ collectionId, id: 'never', reason: 'missing', current: null }] })
          expect(await snapshot(collectionId)).toEqual(before)
        })
      })

      describe('refused before anything is written', () => {
        it('the same id twice in one call is 400', async () => {
          const { collectionId, records } = await fixture()
          const before = await snapshot(collectionId)
          const create = await failure(records.create([{ id: 'twice', data: 1 }, { id: 'other', data: 1 }, { id: 'twice', data: 2 }]))
          expect(create.code).toBe(400)
          expect(create.message).toMatch(/twice is written more than once/)
          const patch = await failure(
            records.patch(null, [
              { id: 'live', data: { a: 1 }, version: 1 },
              { id: 'live', data: { a: 2 }, version: 1 }
            ])
          )
          expect(patch.code).toBe(400)
          expect(patch.message).toMatch(/live is written more than once/)
          expect(await snapshot(collectionId)).toEqual(before)
        })

        it('more than 1000 items is 400', async () => {
          const { collectionId, records } = await fixture()
          const before = await snapshot(collectionId)
          const ids = shortIds(1001)
          const create = await failure(records.create(ids.map((id) => ({ id, data: 0 }))))
          expect(create.code).toBe(400)
          expect(create.message).toBe('"data" has 1001 items; at most 1000 are allowed')
          const patch = await failure(records.patch(null, ids.map((id) => ({ id, data: {}, version: 1 }))))
          expect(patch.code).toBe(400)
          expect(patch.message).toBe('"data" has 1001 items; at most 1000 are allowed')
          // (Over REST a query string of 1001 versions is longer than a URL may be; see the REST-only tests.)
          if (transport === 'socketio') {
            const remove = await failure(records.remove(null, { query: { versions: Object.fromEntries(ids.map((id) => [id, 1])) } }))
            expect(remove.code).toBe(400)
            expect(remove.message).toMatch(/"query.versions" must NOT have more than 1000 properties/)
          }
          expect(await snapshot(collectionId)).toEqual(before)
        })

        const BAD_SHAPES: Array<{ description: string; call: (records: MultiRecords) => Promise<unknown>; message: string | RegExp }> = [
          {
            description: 'a patch item without a version',
            call: (records) => records.patch(null, [{ id: 'live', data: { a: 1 } }]),
            message: '"data.0" is missing "version"'
          },
          {
            description: 'a patch item with an unknown field',
            call: (records) => records.patch(null, [{ id: 'live', data: {}, version: 1 }, { id: 'stale', data: {}, version: 2, extra: true }]),
            message: '"data.1" has an unknown field "extra"'
          },
          {
            description: 'a patch item whose data is not an object',
            call: (records) => records.patch(null, [{ id: 'live', data: 5, version: 1 }]),
            message: '"data.0.data" must be object'
          },
          {
            description: 'a patch item without an id',
            call: (records) => records.patch(null, [{ id: 'live', data: {}, version: 1 }, { data: {}, version: 1 }]),
            message: '"data.1" is missing "id"'
          },
          {
            description: 'a patch item with an invalid version',
            call: (records) => records.patch(null, [{ id: 'live', data: {}, version: 0 }]),
            message: '"data.0.version" must be >= 1'
          },
          {
            description: 'a multi patch that is not an array',
            call: (records) => records.patch(null, { id: 'live', data: {}, version: 1 }),
            message: 'patch without an id takes an array of { id, data, version }'
          },
          { description: 'an empty multi patch', call: (records) => records.patch(null, []), message: '"data" must not be empty' },
          {
            description: 'a create item without data',
            call: (records) => records.create([{ id: 'ok', data: 1 }, { id: 'no-data' }]),
            message: '"data.1" is missing "data"'
          },
          {
            description: 'a create item with an invalid id',
            call: (records) => records.create([{ id: '.hidden', data: 1 }]),
            message: /^"data\.0\.id" must be an id/
          },
          { description: 'an empty multi create', call: (records) => records.create([]), message: '"data" must not be empty' },
          {
            description: 'a multi remove without versions',
            call: (records) => records.remove(null),
            message: '"query" is missing "versions"'
          },
          {
            description: 'a multi remove with version 0',
            call: (records) => records.remove(null, { query: { versions: { live: 0 } } }),
            message: '"query.versions.live" must be >= 1'
          },
          {
            description: 'a multi remove with a version that is not a number',
            call: (records) => records.remove(null, { query: { versions: { live: 'one' } } }),
            message: '"query.versions.live" must be integer'
          },
          {
            description: 'a multi remove with an invalid id',
            call: (records) => records.remove(null, { query: { versions: { '.hidden': 1 } } }),
            message: '"query.versions" has an unknown field ".hidden"'
          },
          {
            description: 'a multi remove with a stray query field',
            call: (records) => records.remove(null, { query: { versions: { live: 1 }, version: 1 } }),
            message: '"query" has an unknown field "version"'
          }
        ]

        for (const { description, call, message } of BAD_SHAPES) {
          it(`${description} is 400 naming the field`, async () => {
            const { collectionId, records } = await fixture()
            const before = await snapshot(collectionId)
            const error = await failure(call(records))
            expect(error.code).toBe(400)
            if (typeof message === 'string') expect(error.message).toBe(message)
            else expect(error.message).toMatch(message)
            expect(await snapshot(collectionId)).toEqual(before)
          })
        }

        it('a multi patch whose merged data would exceed limits.recordBytes is 413, and nothing changes', async () => {
          const { collectionId, records } = await fresh()
          await records.create([
            { id: 'small', data: { n: 1 } },
            { id: 'big', data: { pad: 'x'.repeat(150) } }
          ])
          const before = await snapshot(collectionId)
          // Each patch is small; merged into "big" it is over the limit.
          const error = await failure(
            records.patch(null, [
              { id: 'small', data: { n: 2 }, version: 1 },
              { id: 'big', data: { more: 'y'.repeat(120) }, version: 1 }
            ])
          )
          expect(error.code).toBe(413)
          expect(error.message).toMatch(new RegExp(`Record big would be \\d+ bytes after this patch; the limit is ${RECORD_BYTES}`))
          expect(await snapshot(collectionId)).toEqual(before)
        })

        it('a multi write with one item over limits.recordBytes is 413 naming it, and nothing changes', async () => {
          const { collectionId, records } = await fresh()
          await records.create([{ id: 'small', data: { n: 1 } }])
          const before = await snapshot(collectionId)
          const create = await failure(records.create([{ id: 'fine', data: 1 }, { id: 'huge', data: 'z'.repeat(RECORD_BYTES) }]))
          expect(create.code).toBe(413)
          expect(create.message).toMatch(new RegExp(`"data" of record huge is \\d+ bytes; the limit is ${RECORD_BYTES} bytes`))
          const patch = await failure(records.patch(null, [{ id: 'small', data: { pad: 'z'.repeat(RECORD_BYTES) }, version: 1 }]))
          expect(patch.code).toBe(413)
          expect(patch.message).toMatch(/"data" of record small is/)
          expect(await snapshot(collectionId)).toEqual(before)
        })
      })
    })
  }

  describe('over REST only', () => {
    let owner: TestClient
    let headers: Record<string, string>

    beforeAll(async () => {
      owner = await signedIn(server.url, 'rest')
      headers = await jsonHeaders(owner)
    })
    afterAll(() => owner.close())

    it('PATCH and DELETE on the records path take several records', async () => {
      const { id: collectionId } = await owner.client.service('collections').create({})
      const url = `${server.url}/collections/${collectionId}/records`
      const created = await fetch(url, { method: 'POST', headers, body: JSON.stringify([{ id: 'a', data: {} }, { id: 'b', data: {} }]) })
      expect(created.status).toBe(201)
      const patched = await fetch(url, {
        method: 'PATCH',
        headers,
        body: JSON.stringify([{ id: 'b', data: { x: 1 }, version: 1 }, { id: 'a', data: { x: 1 }, version: 1 }])
      })
      expect(patched.status).toBe(200)
      expect(((await patched.json()) as RecordItem[]).map((record) => [record.id, record.version])).toEqual([['b', 2], ['a', 2]])
      const removed = await fetch(`${url}?versions[a]=2&versions[b]=2`, { method: 'DELETE', headers })
      expect(removed.status).toBe(200)
      expect(((await removed.json()) as RecordItem[]).every((record) => record.deleted)).toBe(true)
    })

    it('the same id twice in a DELETE query string is 400, and nothing changes', async () => {
      const { id: collectionId } = await owner.client.service('collections').create({})
      const records = multi(owner.client, collectionId)
      await records.create([{ id: 'a', data: 1 }])
      const response = await fetch(`${server.url}/collections/${collectionId}/records?versions[a]=1&versions[a]=2`, { method: 'DELETE', headers })
      expect(response.status).toBe(400)
      expect((await response.json()).message).toMatch(/"query.versions.a" must be integer/)
      expect(await records.get('a')).toMatchObject({ version: 1, deleted: false })
    })

    // qs would silently drop parameters past its limit; the app makes it refuse instead.
    it('a DELETE naming more than 1000 versions is 400, and nothing changes', async () => {
      const { id: collectionId } = await owner.client.service('collections').create({})
      const records = multi(owner.client, collectionId)
      const ids = shortIds(1001)
      await records.create(ids.slice(0, 1000).map((id) => ({ id, data: 0 })))
      await records.create([{ id: ids[1000], data: 0 }])
      // Short ids and unencoded brackets keep the URL under Node's 16 KiB header limit.
      const response = await fetch(`${server.url}/collections/${collectionId}/records?${ids.map((id) => `versions[${id}]=1`).join('&')}`, {
        method: 'DELETE',
        headers
      })
      expect(response.status).toBe(400)
      expect((await records.find({ query: { $limit: 0 } })).total).toBe(1001)
    })
  })
}, { plainPath: true })
