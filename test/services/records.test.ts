import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, signedIn, TRANSPORTS, type TestClient, jsonHeaders } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

// Also on the plain path ("[sqlite, no shortcuts]"…): these are the calls the storage speed-ups serve.
describeBackends('records: versioned writes', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      let collectionId: string
      const records = () => recordsClient(owner.client, collectionId)

      beforeAll(async () => {
        owner = await signedIn(server.url, transport)
        collectionId = (await owner.client.service('collections').create({ name: 'pets' })).id
      })
      afterAll(() => owner.close())

      it('creates with a client-chosen UUID at version 1', async () => {
        const id = randomUUID()
        const record = await records().create({ id, data: { name: 'Rex' } })
        expect(record).toMatchObject({ id, collectionId, version: 1, data: { name: 'Rex' }, deleted: false, updatedBy: owner.user.id })
        expect(record.seq).toBeGreaterThan(0)
        expect(await records().get(id)).toEqual(record)
      })

      it('generates an id when none is given', async () => {
        const record = await records().create({ data: 'ciphertext:abc' })
        expect(record.id).toMatch(/^[0-9a-f-]{36}$/)
        expect(record.data).toBe('ciphertext:abc')
      })

      it('stores any JSON value as data, unchanged', async () => {
        for (const data of [null, 0, false, 'x', [1, 'a', { b: null }], { nested: { deep: [1.5, -2] }, 'ü': '✓' }]) {
          const record = await records().create({ data })
          expect((await records().get(record.id)).data).toEqual(data)
        }
      })

      it('refuses to create an id that exists: 409 with the current record', async () => {
        const existing = await records().create({ data: { a: 1 } })
        const error = await failure(records().create({ id: existing.id, data: { a: 2 } }))
        expect(error.code).toBe(409)
        expect(error.data.current).toEqual(existing)
        expect(await records().get(existing.id)).toEqual(existing)
      })

      it('update replaces data and bumps the version when the base version is current', async () => {
        const created = await records().create({ data: { a: 1, b: 2 } })
        const updated = await records().update(created.id, { data: { c: 3 }, version: 1 })
        expect(updated).toMatchObject({ version: 2, data: { c: 3 } })
        expect(updated.seq).toBeGreaterThan(created.seq)
      })

      it('patch shallow-merges data', async () => {
        const created = await records().create({ data: { a: 1, b: { x: 1 } } })
        const patched = await records().patch(created.id, { data: { b: { y: 2 }, c: 3 }, version: 1 })
        expect(patched).toMatchObject({ version: 2, data: { a: 1, b: { y: 2 }, c: 3 } })
      })

      it('a stale base version gets 409 with the current record, and nothing changes', async () => {
        const created = await records().create({ data: { n: 1 } })
        const current = await records().update(created.id, { data: { n: 2 }, version: 1 })
        for (const attempt of [
          () => records().update(created.id, { data: { n: 99 }, version: 1 }),
          () => records().patch(created.id, { data: { n: 99 }, version: 1 }),
          () => records().remove(created.id, { query: { version: 1 } })
        ]) {
          const error = await failure(attempt())
          expect(error.code).toBe(409)
          expect(error.data).toEqual({ reason: 'version-mismatch', current })
        }
        expect(await records().get(created.id)).toEqual(current)
      })

      it('a write without a base version gets 428, and nothing changes', async () => {
        const created = await records().create({ data: { n: 1 } })
        expect((await failure(records().update(created.id, { data: { n: 2 } }))).code).toBe(428)
        expect((await failure(records().patch(created.id, { data: { n: 2 } }))).code).toBe(428)
        expect((await failure(records().remove(created.id))).code).toBe(428)
        expect(await records().get(created.id)).toEqual(created)
      })

      it('a write to a missing record is 404', async () => {
        expect((await failure(records().update('never-was', { data: 1, version: 1 }))).code).toBe(404)
        expect((await failure(records().remove('never-was', { query: { version: 1 } }))).code).toBe(404)
        expect((await failure(records().get('never-was'))).code).toBe(404)
      })

      it('remove leaves a tombstone: 404 to get, listed only when asked, carried by the feed', async () => {
        const created = await records().create({ data: { secret: 'x' } })
        const tombstone = await records().remove(created.id, { query: { version: 1 } })
        expect(tombstone).toMatchObject({ id: created.id, version: 2, deleted: true, data: null })
        expect((await failure(records().get(created.id))).code).toBe(404)

        const live = await records().find({ query: { id: created.id } })
        expect(live.data).toEqual([])
        const dead = await records().find({ query: { id: created.id, deleted: true } })
        expect(dead.data).toEqual([tombstone])

        const feed = await changesClient(owner.client, collectionId).find({ query: { limit: 1000 } })
        expect(feed.changes.find((change) => change.id === created.id)).toEqual(tombstone)
      })

      it('writes to a tombstone conflict with it; re-creating must name its version', async () => {
        const created = await records().create({ data: { v: 1 } })
        const tombstone = await records().remove(created.id, { query: { version: 1 } })

        const patchError = await failure(records().patch(created.id, { data: { v: 2 }, version: 1 }))
        expect(patchError.code).toBe(409)
        expect(patchError.data).toEqual({ reason: 'deleted', current: tombstone })

        const blindCreate = await failure(records().create({ id: created.id, data: { v: 3 } }))
        expect(blindCreate.code).toBe(409)
        expect(blindCreate.data.current).toEqual(tombstone)

        const recreated = await records().create({ id: created.id, data: { v: 3 }, version: tombstone.version })
        expect(recreated).toMatchObject({ version: 3, deleted: false, data: { v: 3 } })
      })

      it('creates several records in one call, all or nothing', async () => {
        const existing = await records().create({ data: 'taken' })
        const ids = [randomUUID(), randomUUID()]
        const error = await failure(
          records().create([
            { id: ids[0], data: 1 },
            { id: existing.id, data: 2 },
            { id: ids[1], data: 3 }
          ])
        )
        expect(error.code).toBe(409)
        expect(error.data.conflicts).toEqual([{ collectionId, id: existing.id, reason: 'exists', current: existing }])
        expect((await records().find({ query: { id: { $in: ids } } })).total).toBe(0)

        const created = await records().create(ids.map((id, index) => ({ id, data: index })))
        expect(created.map((record) => record.id)).toEqual(ids)
        expect(created[1].seq).toBe(created[0].seq + 1)
      })

      it('finds with $limit, $skip and $sort on metadata', async () => {
        const { id: sortedCollection } = await owner.client.service('collections').create({})
        const sorted = recordsClient(owner.client, sortedCollection)
        await sorted.create(['c', 'a', 'b', 'd'].map((id) => ({ id, data: id })))
        const page = await sorted.find({ query: { $sort: { id: -1 }, $limit: 2, $skip: 1 } })
        expect(page.total).toBe(4)
        expect(page.data.map((record) => record.id)).toEqual(['c', 'b'])
        const bySeq = await sorted.find({ query: { $sort: { seq: 1 } } })
        expect(bySeq.data.map((record) => record.id)).toEqual(['c', 'a', 'b', 'd'])
      })
    })
  }

  describe('over REST only', () => {
    let owner: TestClient
    let collectionId: string
    let headers: Record<string, string>

    beforeAll(async () => {
      owner = await signedIn(server.url, 'rest')
      collectionId = (await owner.client.service('collections').create({})).id
      headers = await jsonHeaders(owner)
    })

    const recordUrl = (id = '') => `${server.url}/collections/${collectionId}/records${id ? `/${id}` : ''}`

    it('answers with ETag: "<version>" and takes it back in If-Match', async () => {
      const created = await fetch(recordUrl(), { method: 'POST', headers, body: JSON.stringify({ id: 'etag', data: { a: 1 } }) })
      expect(created.status).toBe(201)
      expect(created.headers.get('etag')).toBe('"1"')

      const read = await fetch(recordUrl('etag'), { headers })
      const etag = read.headers.get('etag')!
      expect(etag).toBe('"1"')

      const patched = await fetch(recordUrl('etag'), {
        method: 'PATCH',
        headers: { ...headers, 'if-match': etag },
        body: JSON.stringify({ data: { b: 2 } })
      })
      expect(patched.status).toBe(200)
      expect(patched.headers.get('etag')).toBe('"2"')

      const stale = await fetch(recordUrl('etag'), { method: 'PUT', headers: { ...headers, 'if-match': etag }, body: JSON.stringify({ data: {} }) })
      expect(stale.status).toBe(409)
      expect((await stale.json()).data.current).toMatchObject({ version: 2, data: { a: 1, b: 2 } })

      const removed = await fetch(recordUrl('etag'), { method: 'DELETE', headers: { ...headers, 'if-match': '"2"' } })
      expect(removed.status).toBe(200)
      expect(await removed.json()).toMatchObject({ deleted: true, version: 3 })
    })

    it('rejects an If-Match that disagrees with the body version', async () => {
      await fetch(recordUrl(), { method: 'POST', headers, body: JSON.stringify({ id: 'both', data: 1 }) })
      const response = await fetch(recordUrl('both'), {
        method: 'PUT',
        headers: { ...headers, 'if-match': '"1"' },
        body: JSON.stringify({ data: 2, version: 2 })
      })
      expect(response.status).toBe(400)
      expect((await response.json()).message).toMatch(/different versions/)
    })
  })
}, { plainPath: true })
