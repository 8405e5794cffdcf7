import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId, until } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from './server-view.js'

/**
 * A local write made while a push of the same record is in flight: the
 * proxy lets the push reach the server and holds its answer back; the app
 * writes the record again; then the answer is let through. The first
 * answer must not mark the second write synced: it is pushed afterwards,
 * on top of the version the first one made.
 */
const RECORD_WRITE = /^(POST|PUT|DELETE) \/collections\/[^/ ]+\/records/
const COMMIT = /\r\nx-service-method: commit\r\n/i

describeBackends('client reliability: a write while a push of the same record is in flight', (backend) => {
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

  async function setUp() {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const collectionId = newId()
    const roost = clients.create({ url: proxy.url, auth: user, store: memoryStore(), realtime: false, batchThreshold: 8 })
    const pets = roost.collection(collectionId)
    await roost.whenSynced()
    return { roost, pets, collectionId, view: await ServerView.signIn(server.url, user) }
  }

  it('a single write: the second write is pushed after the first, which ends at version 1', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    proxy.holdAnswersOf(RECORD_WRITE)
    const first = await pets.put('rex', { name: 'Rex' })
    await until(() => proxy.heldAnswers === 1, 'the first push answered (and held back)')
    // The server has it; the client does not know yet.
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 1, data: { name: 'Rex' } })
    const second = await pets.put('rex', { name: 'Rex', age: 3 })
    proxy.release()
    expect((await roost.awaitWrite(first.writeId)).status).toBe('applied')
    expect((await roost.awaitWrite(second.writeId)).status).toBe('applied')
    await roost.whenSynced()
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 2, data: { name: 'Rex', age: 3 }, idempotencyKey: second.writeId })
    expect(await view.changeCount(collectionId)).toBe(2)
    expect(await pets.get('rex')).toMatchObject({ data: { name: 'Rex', age: 3 }, serverVersion: 2, pending: false })
    expect(await roost.conflicts()).toEqual([])
    expect(await roost.store.listOutbox()).toEqual([])
  })

  it('a delete while an update is in flight is pushed after it', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    await pets.put('rex', { name: 'Rex' })
    await roost.whenSynced()
    proxy.holdAnswersOf(RECORD_WRITE)
    const update = await pets.patch('rex', { age: 3 })
    await until(() => proxy.heldAnswers === 1, 'the update answered (and held back)')
    const removal = await pets.delete('rex')
    proxy.release()
    expect((await roost.awaitWrite(update.writeId)).status).toBe('applied')
    expect((await roost.awaitWrite(removal.writeId)).status).toBe('applied')
    await roost.whenSynced()
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 3, deleted: true })
    expect(await view.changeCount(collectionId)).toBe(3)
  })

  it('a record of a batch written again while the commit is in flight is pushed after the commit', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    proxy.holdAnswersOf(COMMIT)
    proxy.down()
    const writes = []
    for (let i = 0; i < 20; i++) writes.push(await pets.put(`n${i}`, { i }))
    proxy.up()
    await until(() => proxy.heldAnswers === 1, 'the commit answered (and held back)')
    const again = await pets.put('n15', { i: 15, again: true })
    proxy.release()
    for (const write of [...writes, again]) expect((await roost.awaitWrite(write.writeId)).status).toBe('applied')
    await roost.whenSynced()
    const records = await view.records(collectionId)
    expect(records.get('n15')).toMatchObject({ version: 2, data: { i: 15, again: true } })
    for (let i = 0; i < 20; i++) if (i !== 15) expect(records.get(`n${i}`)).toMatchObject({ version: 1, data: { i } })
    expect(await view.changeCount(collectionId)).toBe(21)
    expect(await pets.get('n15')).toMatchObject({ data: { i: 15, again: true }, serverVersion: 2, pending: false })
  })
})
