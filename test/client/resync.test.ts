import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, localData, newId, serverData, session, until, outcome, synced } from './helpers.js'
import { TestProxy } from './proxy.js'

/**
 * A collection deleted and created again under the same id while a client
 * was offline with pending writes: its cursor is of the old collection
 * (410). The client drops its replica, pulls the new collection from the
 * start and pushes its pending writes, which it kept; old records that
 * were not pending are gone.
 */
describeBackends('client resync after a 410', (backend) => {
  let server: TestServer
  let proxy: TestProxy | undefined
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(async () => {
    await clients.closeAll()
    await proxy?.close()
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const realtime of [true, false]) {
    it(`drops the replica, pulls from the start and pushes the pending writes (${realtime ? 'realtime' : 'REST only'})`, async () => {
      const user = await account(server.url)
      const api = await session(server.url, user)
      const collectionId = newId()
      proxy = await new TestProxy(server.url).start()
      const client = clients.create({ url: proxy.url, auth: user, store: memoryStore(), realtime })
      const notes = client.collection(collectionId)
      for (const id of ['old', 'edited', 'removed']) await notes.put(id, { id, generation: 1 })
      await synced(client)
      proxy.down()
      const edit = await notes.patch('edited', { edited: true })
      const created = await notes.put('created', { offline: true })
      const removal = await notes.delete('removed')
      // Meanwhile, on the server: the collection is deleted and created again, with a record of its own.
      expect((await api('DELETE', `collections/${collectionId}`)).status).toBe(200)
      expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
      expect((await api('POST', `collections/${collectionId}/records`, { id: 'fresh', data: { generation: 2 } })).status).toBe(201)
      proxy.up()
      expect(await outcome(client, edit.writeId)).toMatchObject({ status: 'applied', record: { version: 1 } })
      expect(await outcome(client, created.writeId)).toMatchObject({ status: 'applied', record: { version: 1 } })
      // A delete of a record the new collection never had: nothing to send.
      expect(await outcome(client, removal.writeId)).toMatchObject({ status: 'applied' })
      await synced(client)
      const expected = { created: { offline: true }, edited: { id: 'edited', generation: 1, edited: true }, fresh: { generation: 2 } }
      expect(await serverData(api, collectionId)).toEqual(expected)
      await until(async () => JSON.stringify(await localData(client, collectionId)) === JSON.stringify(expected), 'the client to hold the new collection')
      expect(await notes.get('old')).toBeUndefined()
      expect(client.status.get()).toMatchObject({ pending: 0, conflicts: 0, rejected: 0, fatal: null })
      // And it keeps syncing the new collection.
      expect((await api('PUT', `collections/${collectionId}/records/fresh`, { data: { generation: 2, later: true }, version: 1 })).status).toBe(200)
      await until(async () => (await notes.get('fresh'))?.serverVersion === 2, 'a later change to arrive')
    })
  }

  it('many pending edits (pushed as one batch) meet the new collection: they are kept and pushed as new records, not reported as conflicts', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    proxy = await new TestProxy(server.url).start()
    const client = clients.create({ url: proxy.url, auth: user, store: memoryStore() })
    const notes = client.collection(collectionId)
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`)
    for (const id of ids) await notes.put(id, { id })
    await synced(client)
    proxy.down()
    const writes = []
    for (const id of ids) writes.push(await notes.patch(id, { edited: true }))
    expect((await api('DELETE', `collections/${collectionId}`)).status).toBe(200)
    expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
    proxy.up()
    for (const write of writes) expect(await outcome(client, write.writeId)).toMatchObject({ status: 'applied', record: { version: 1 } })
    await synced(client)
    expect(await serverData(api, collectionId)).toEqual(Object.fromEntries(ids.map((id) => [id, { id, edited: true }])))
    expect(client.status.get()).toMatchObject({ pending: 0, conflicts: 0, rejected: 0, fatal: null })
  })

  it('a group written offline meets the new collection: it is kept and lands whole as new records', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    proxy = await new TestProxy(server.url).start()
    const client = clients.create({ url: proxy.url, auth: user, store: memoryStore() })
    const notes = client.collection(collectionId)
    await notes.put('a', { n: 1 })
    await notes.put('b', { n: 1 })
    await synced(client)
    proxy.down()
    const group = await client.transaction((scope) => {
      scope.patch(collectionId, 'a', { n: 2 })
      scope.put(collectionId, 'c', { n: 2 })
    })
    expect((await api('DELETE', `collections/${collectionId}`)).status).toBe(200)
    expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
    proxy.up()
    for (const write of group.writes) expect(await outcome(client, write.writeId)).toMatchObject({ status: 'applied', record: { version: 1 } })
    await synced(client)
    expect(await serverData(api, collectionId)).toEqual({ a: { n: 2 }, c: { n: 2 } })
    expect(await localData(client, collectionId)).toEqual({ a: { n: 2 }, c: { n: 2 } })
    expect(client.status.get()).toMatchObject({ pending: 0, conflicts: 0, rejected: 0, fatal: null })
  })
})
