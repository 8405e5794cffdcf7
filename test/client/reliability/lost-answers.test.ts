import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type Roost } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from './server-view.js'

/**
 * Answers lost after the server committed: the proxy lets a write reach the
 * server and cuts the connection as the answer starts. The client cannot
 * tell whether it was applied; it retries the same attempt (same
 * Idempotency-Key, same batch id) and the server replays its first answer.
 * Nothing may be applied twice (versions, one seq per write) and every
 * write must end 'applied'.
 */
const RECORD_WRITE = (method: string) => new RegExp(`^${method} /collections/[^/ ]+/records`)
const COMMIT = /\r\nx-service-method: commit\r\n/i
const APPEND = /\r\nx-service-method: append\r\n/i
const OPEN = /^POST \/batches HTTP(?![\s\S]*x-service-method)/i

describeBackends('client reliability: answers lost after the commit', (backend) => {
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

  /** A user, a client of theirs through a fresh proxy (REST only unless asked: the rules aim at REST writes), a synced collection, and a plain view of the server. */
  async function setUp(realtime = false) {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const collectionId = newId()
    const roost = clients.create({ url: proxy.url, auth: user, store: memoryStore(), realtime, batchThreshold: 8 })
    const pets = roost.collection(collectionId)
    await roost.whenSynced()
    return { roost, pets, collectionId, view: await ServerView.signIn(server.url, user) }
  }

  const outcome = async (roost: Roost, writeId: string) => (await roost.awaitWrite(writeId)).status

  for (const realtime of [false, true]) {
    it(`a single create, update and delete whose answers are lost are applied once each${realtime ? ' (realtime on: its own change events arrive first)' : ''}`, async () => {
      const { roost, pets, collectionId, view } = await setUp(realtime)

      proxy.cutAnswersOf(RECORD_WRITE('POST'), 2)
      const created = await pets.put('rex', { name: 'Rex' })
      expect(await outcome(roost, created.writeId)).toBe('applied')
      expect(proxy.cutAnswers).toBe(2)
      expect(proxy.count(RECORD_WRITE('POST'))).toBe(3)
      let rex = (await view.records(collectionId)).get('rex')
      expect(rex).toMatchObject({ version: 1, data: { name: 'Rex' }, deleted: false, idempotencyKey: created.writeId })
      expect(await view.changeCount(collectionId)).toBe(1)

      proxy.cutAnswersOf(RECORD_WRITE('PUT'), 2)
      const updated = await pets.patch('rex', { age: 3 })
      expect(await outcome(roost, updated.writeId)).toBe('applied')
      expect(proxy.cutAnswers).toBe(4)
      rex = (await view.records(collectionId)).get('rex')
      expect(rex).toMatchObject({ version: 2, data: { name: 'Rex', age: 3 }, idempotencyKey: updated.writeId })
      expect(await view.changeCount(collectionId)).toBe(2)

      proxy.cutAnswersOf(RECORD_WRITE('DELETE'), 2)
      const deleted = await pets.delete('rex')
      expect(await outcome(roost, deleted.writeId)).toBe('applied')
      expect(proxy.cutAnswers).toBe(6)
      rex = (await view.records(collectionId)).get('rex')
      expect(rex).toMatchObject({ version: 3, deleted: true })
      expect(await view.changeCount(collectionId)).toBe(3)

      await roost.whenSynced()
      expect(await roost.store.listOutbox()).toEqual([])
      expect(await roost.conflicts()).toEqual([])
      expect((await pets.get('rex'))?.deleted).toBe(true)
    })
  }

  it('a batch of many records whose commit answer is lost (after open and appends went through) is committed once', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    // Appends of 10 operations: several appends before the commit.
    ;(roost as unknown as { ctx: { appendOperations: number } }).ctx.appendOperations = 10
    proxy.cutAnswersOf(COMMIT, 2)
    proxy.down()
    const writes = []
    for (let i = 0; i < 30; i++) writes.push(await pets.put(`n${i}`, { i }))
    proxy.up()
    const outcomes = await Promise.all(writes.map((write) => outcome(roost, write.writeId)))
    expect(outcomes).toEqual(writes.map(() => 'applied'))
    expect(proxy.cutAnswers).toBe(2)
    // One batch: opened and filled, its commit sent three times. (The first
    // records may have gone as single writes: each was alone in the outbox
    // when its first attempt failed offline, and such an attempt is finished
    // exactly as sent.)
    expect(proxy.count(OPEN)).toBeGreaterThanOrEqual(1)
    expect(proxy.count(APPEND)).toBeGreaterThanOrEqual(2)
    expect(proxy.count(COMMIT)).toBe(3)
    expect(proxy.count(RECORD_WRITE('POST'))).toBeLessThan(8)
    const records = await view.records(collectionId)
    expect(records.size).toBe(30)
    for (let i = 0; i < 30; i++) expect(records.get(`n${i}`)).toMatchObject({ version: 1, data: { i } })
    expect(await view.changeCount(collectionId)).toBe(30)
    await roost.whenSynced()
    expect(await roost.store.listOutbox()).toEqual([])
    expect((await pets.list()).every((record) => record.serverVersion === 1 && !record.pending)).toBe(true)
  })

  it('a batch whose open, append and commit each lose their first answer still lands once', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    proxy.down()
    const writes = []
    for (let i = 0; i < 12; i++) writes.push(await pets.put(`m${i}`, { i }))
    proxy.cutAnswersOf(OPEN, 1)
    proxy.cutAnswersOf(APPEND, 1)
    proxy.cutAnswersOf(COMMIT, 1)
    proxy.up()
    const outcomes = await Promise.all(writes.map((write) => outcome(roost, write.writeId)))
    expect(outcomes).toEqual(writes.map(() => 'applied'))
    expect(proxy.cutAnswers).toBe(3)
    const records = await view.records(collectionId)
    for (let i = 0; i < 12; i++) expect(records.get(`m${i}`)).toMatchObject({ version: 1, data: { i } })
    expect(await view.changeCount(collectionId)).toBe(12)
  })
})
