import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type RecordView } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId, until } from './helpers.js'

describeBackends('client realtime', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  it('a change made elsewhere reaches a watching client through its socket, without polling', async () => {
    const user = await account(server.url)
    const collectionId = newId()
    // Polling so slow it cannot explain what the test sees.
    const a = clients.create({ url: server.url, auth: user, store: memoryStore(), pollIntervalMs: 600_000, retry: { baseMs: 600_000, maxMs: 600_000 } })
    const b = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: false })
    let seen: RecordView[] = []
    a.collection(collectionId).watch((list) => (seen = list))
    await a.whenSynced()
    await until(() => a.status.get().live, 'a subscribed socket')
    const pets = b.collection(collectionId)
    await b.whenSynced()
    // The socket subscribes after the first sync: wait for a first event to prove it.
    await pets.put('rex', { name: 'Rex' })
    await b.whenSynced()
    await until(() => seen.some((record) => record.id === 'rex'), 'rex at a')
    await pets.patch('rex', { age: 4 })
    await b.whenSynced()
    await until(() => seen.some((record) => record.id === 'rex' && (record.data as { age?: number }).age === 4), 'the patch at a')
    expect(seen.map((record) => [record.id, record.serverVersion, record.pending])).toEqual([['rex', 2, false]])
  })
})
