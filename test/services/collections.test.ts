import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { connect, failure, signedIn, TRANSPORTS, type TestClient, type Transport } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/** A 404 as a client sees it, with the probed id taken out of the message. */
const shape = (error: { code: number; name: string; message: string; data?: unknown }, id: string) => ({
  code: error.code,
  name: error.name,
  message: error.message.replaceAll(id, '<id>'),
  data: error.data ?? null
})

describeBackends('collections', (backend) => {
  let server: TestServer
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server.close()
  })

  const signUp = async (transport: Transport) => {
    const user = await signedIn(server.url, transport)
    opened.push(user)
    return user
  }

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      let stranger: TestClient
      const collections = () => owner.client.service('collections')

      beforeAll(async () => {
        owner = await signUp(transport)
        stranger = await signUp(transport)
      })

      it('creates with a client-chosen id and a name', async () => {
        const id = `pets-${randomUUID()}`
        const created = await collections().create({ id, name: 'Pets' })
        expect(created).toMatchObject({ id, name: 'Pets', ownerId: owner.user.id, role: 'owner' })
        expect(typeof created.cursor).toBe('string')
        expect(created.createdAt).toBe(created.updatedAt)
        expect(await collections().get(id)).toEqual(created)
      })

      it('generates a UUID when no id is given; the name is optional (null)', async () => {
        const created = await collections().create({})
        expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(created.name).toBeNull()
        expect(await collections().get(created.id)).toEqual(created)

        const withName = await collections().create({ name: 'Named' })
        expect(withName.name).toBe('Named')
        expect(withName.id).not.toBe(created.id)
      })

      it('lists only the caller\'s collections, paginated', async () => {
        const me = await signUp(transport)
        const other = await signUp(transport)
        const mine = await Promise.all(['a', 'b', 'c'].map((name) => me.client.service('collections').create({ name })))
        await other.client.service('collections').create({ name: 'not yours' })

        const all = await me.client.service('collections').find()
        expect(all).toMatchObject({ total: 3, skip: 0 })
        expect(typeof all.limit).toBe('number')
        expect(all.data.map((collection) => collection.id).sort()).toEqual(mine.map((collection) => collection.id).sort())
        expect(all.data.every((collection) => collection.ownerId === me.user.id)).toBe(true)

        const page = await me.client.service('collections').find({ query: { $limit: 2, $skip: 1 } })
        expect(page).toMatchObject({ total: 3, limit: 2, skip: 1 })
        expect(page.data).toEqual(all.data.slice(1, 3))

        const counted = await me.client.service('collections').find({ query: { $limit: 0 } })
        expect(counted).toEqual({ total: 3, limit: 0, skip: 0, data: [] })

        const theirs = await other.client.service('collections').find()
        expect(theirs.total).toBe(1)
        expect(theirs.data[0].name).toBe('not yours')
      })

      it('the owner renames (and un-names) a collection', async () => {
        const created = await collections().create({ name: 'Old' })
        const renamed = await collections().patch(created.id, { name: 'New' })
        expect(renamed).toMatchObject({ id: created.id, name: 'New', cursor: created.cursor, createdAt: created.createdAt })
        expect(await collections().get(created.id)).toEqual(renamed)
        const unnamed = await collections().patch(created.id, { name: null })
        expect(unnamed.name).toBeNull()
      })

      it('removing a collection removes its records', async () => {
        const created = await collections().create({})
        await recordsClient(owner.client, created.id).create([{ id: 'one', data: 1 }, { id: 'two', data: 2 }])
        const removed = await collections().remove(created.id)
        expect(removed.id).toBe(created.id)

        expect((await failure(collections().get(created.id))).code).toBe(404)
        expect((await failure(recordsClient(owner.client, created.id).find())).code).toBe(404)
        expect(await server.storage.getCollection(created.id)).toBeUndefined()
        for (const deleted of [false, true]) {
          const page = await server.storage.findRecords(created.id, { deleted, sort: [], limit: 100, skip: 0 })
          expect(page).toEqual({ total: 0, data: [] })
        }

        // Re-created under the same id, it starts empty.
        await collections().create({ id: created.id })
        expect((await recordsClient(owner.client, created.id).find()).total).toBe(0)
        expect((await changesClient(owner.client, created.id).find()).changes).toEqual([])
      })

      it('an id already in use is 409, whoever uses it, and nothing changes', async () => {
        const created = await collections().create({ name: 'first' })
        const mine = await failure(collections().create({ id: created.id, name: 'second' }))
        expect(mine.code).toBe(409)
        const theirs = await failure(stranger.client.service('collections').create({ id: created.id }))
        expect(theirs.code).toBe(409)
        expect(await collections().get(created.id)).toEqual(created)
      })

      it('strangers get the same 404 as for a missing id: get, patch, remove, records, changes', async () => {
        const created = await collections().create({ name: 'private' })
        const record = await recordsClient(owner.client, created.id).create({ id: 'r', data: { secret: true } })
        const before = await collections().get(created.id)
        const missingId = `missing-${randomUUID()}`

        const probes: Array<[string, (id: string) => Promise<unknown>]> = [
          ['get', (id) => stranger.client.service('collections').get(id)],
          ['patch', (id) => stranger.client.service('collections').patch(id, { name: 'mine now' })],
          ['remove', (id) => stranger.client.service('collections').remove(id)],
          ['records.find', (id) => recordsClient(stranger.client, id).find()],
          ['records.get', (id) => recordsClient(stranger.client, id).get('r')],
          ['records.create', (id) => recordsClient(stranger.client, id).create({ data: 'spam' })],
          ['records.update', (id) => recordsClient(stranger.client, id).update('r', { data: 'x', version: 1 })],
          ['records.patch', (id) => recordsClient(stranger.client, id).patch('r', { data: { x: 1 }, version: 1 })],
          ['records.remove', (id) => recordsClient(stranger.client, id).remove('r', { query: { version: 1 } })],
          // Without a version: a write is authorized in its transaction, so the 428 comes first, the same for both.
          ['records.update (no version)', (id) => recordsClient(stranger.client, id).update('r', { data: 'x' })],
          ['changes.find', (id) => changesClient(stranger.client, id).find()]
        ]
        if (transport === 'socketio') {
          probes.push(['subscriptions.create', (id) => stranger.client.service('subscriptions').create({ collectionId: id })])
        }
        for (const [name, probe] of probes) {
          const hidden = await failure(probe(created.id))
          const missing = await failure(probe(missingId))
          expect(hidden.code, name).toBe(name.endsWith('(no version)') ? 428 : 404)
          expect(shape(hidden, created.id), name).toEqual(shape(missing, missingId))
          expect(JSON.stringify(hidden), name).not.toContain('secret')
          expect(JSON.stringify(hidden), name).not.toContain(owner.user.id)
        }

        // And nothing the stranger tried had any effect.
        expect(await collections().get(created.id)).toEqual(before)
        expect(await recordsClient(owner.client, created.id).get('r')).toEqual(record)
        expect((await recordsClient(owner.client, created.id).find()).total).toBe(1)
        expect((await stranger.client.service('collections').find()).total).toBe(0)
      })

      it('an old cursor after delete and re-create under the same id is 410 Gone', async () => {
        const id = `reborn-${randomUUID()}`
        await collections().create({ id })
        await recordsClient(owner.client, id).create({ id: 'r', data: 1 })
        const { cursor } = await changesClient(owner.client, id).find()
        expect((await changesClient(owner.client, id).find({ query: { since: cursor } })).changes).toEqual([])

        await collections().remove(id)
        const reborn = await collections().create({ id })
        await recordsClient(owner.client, id).create({ id: 'r', data: 2 })

        const error = await failure(changesClient(owner.client, id).find({ query: { since: cursor } }))
        expect(error.code).toBe(410)
        expect(error.name).toBe('Gone')
        expect(error.data).toEqual({ reason: 'stale-cursor' })

        // The old cursor from the collection itself is just as stale; the new one works.
        const fresh = await changesClient(owner.client, id).find({ query: { since: reborn.cursor } })
        expect(fresh.changes.map((change) => change.data)).toEqual([2])
      })
    })
  }

  describe('without authentication', () => {
    let collectionId: string

    beforeAll(async () => {
      const owner = await signUp('rest')
      collectionId = (await owner.client.service('collections').create({})).id
      await recordsClient(owner.client, collectionId).create({ id: 'r', data: 1 })
    })

    for (const transport of TRANSPORTS) {
      it(`every data service is 401 over ${transport}`, async () => {
        const connection = connect(server.url, transport)
        opened.push(connection)
        const { client } = connection
        const records = recordsClient(client, collectionId)
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['collections.find', () => client.service('collections').find()],
          ['collections.get', () => client.service('collections').get(collectionId)],
          ['collections.create', () => client.service('collections').create({})],
          ['collections.patch', () => client.service('collections').patch(collectionId, { name: 'x' })],
          ['collections.remove', () => client.service('collections').remove(collectionId)],
          ['records.find', () => records.find()],
          ['records.get', () => records.get('r')],
          ['records.create', () => records.create({ data: 1 })],
          ['records.update', () => records.update('r', { data: 2, version: 1 })],
          ['records.patch', () => records.patch('r', { data: { a: 1 }, version: 1 })],
          ['records.remove', () => records.remove('r', { query: { version: 1 } })],
          ['changes.find', () => changesClient(client, collectionId).find()],
          ['subscriptions.find', () => client.service('subscriptions').find()],
          ['subscriptions.create', () => client.service('subscriptions').create({ collectionId })],
          ['subscriptions.remove', () => client.service('subscriptions').remove(collectionId)],
          // Unknown ids too: 401 comes before any 404 or 400.
          ['collections.get (missing)', () => client.service('collections').get('no-such-collection')],
          ['records.find (missing collection)', () => recordsClient(client, 'no-such-collection').find()]
        ]
        for (const [name, call] of calls) {
          const error = await failure(call())
          expect(error.code, name).toBe(401)
          expect(error.name, name).toBe('NotAuthenticated')
        }
        const stored = await server.storage.getRecord(collectionId, 'r')
        expect(stored).toMatchObject({ version: 1, data: 1, deleted: false })
        expect(await server.storage.getCollection(collectionId)).toMatchObject({ name: null, seq: 1 })
      })
    }

    it('a bad or expired-looking token is 401 too, over REST', async () => {
      for (const authorization of ['Bearer not-a-jwt', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl', 'Basic Zm9vOmJhcg==']) {
        const response = await fetch(`${server.url}/collections`, { headers: { authorization } })
        expect(response.status, authorization).toBe(401)
        expect(await response.json()).toMatchObject({ code: 401, name: 'NotAuthenticated' })
      }
    })
  })
}, { plainPath: true })
