import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId } from './helpers.js'

describeBackends('client smoke', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  for (const realtime of [true, false]) {
    describe(realtime ? 'realtime' : 'REST only', () => {
      it('two devices of one user converge', async () => {
        const user = await account(server.url)
        const collectionId = newId()
        const a = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime })
        const b = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime })
        const pa = a.collection(collectionId)
        await pa.put('rex', { name: 'Rex' })
        await pa.put('tom', { name: 'Tom' })
        await a.whenSynced()
        const pb = b.collection(collectionId)
        await b.whenSynced()
        expect((await pb.list()).map((r) => [r.id, r.data, r.serverVersion, r.pending])).toEqual([
          ['rex', { name: 'Rex' }, 1, false],
          ['tom', { name: 'Tom' }, 1, false]
        ])
        await pb.patch('rex', { age: 3 })
        await pb.delete('tom')
        await b.whenSynced()
        await a.whenSynced()
        expect((await pa.list()).map((r) => [r.id, r.data])).toEqual([['rex', { name: 'Rex', age: 3 }]])
        // many writes: one batch
        for (let i = 0; i < 50; i++) await pa.put(`n${i}`, { i })
        await a.whenSynced()
        await b.whenSynced()
        expect((await pb.list()).length).toBe(51)
      })
    })
  }
})
