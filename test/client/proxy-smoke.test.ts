import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId, until } from './helpers.js'
import { TestProxy } from './proxy.js'

describeBackends('client through a proxy', (backend) => {
  let server: TestServer
  let proxy: TestProxy
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

  it('offline writes are pushed when the network comes back; answers lost after the commit are not applied twice', async () => {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const collectionId = newId()
    const a = clients.create({ url: proxy.url, auth: user, store: memoryStore() })
    const pets = a.collection(collectionId)
    await a.whenSynced()
    proxy.down()
    const first = await pets.put('rex', { name: 'Rex' })
    await until(() => a.status.get().error !== null, 'an error in the status')
    expect(a.status.get().pending).toBe(1)
    proxy.cutAnswersFromNowOn()
    await until(() => proxy.cutAnswers >= 2, 'two lost answers')
    proxy.up()
    expect((await a.awaitWrite(first.writeId)).status).toBe('applied')
    await a.whenSynced()
    const check = clients.create({ url: server.url, auth: user, store: memoryStore() })
    check.collection(collectionId)
    await check.whenSynced()
    const rex = await check.collection(collectionId).get('rex')
    expect(rex?.serverVersion).toBe(1)
    expect(rex?.data).toEqual({ name: 'Rex' })
  })
})
