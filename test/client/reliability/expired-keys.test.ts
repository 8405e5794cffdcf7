import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type Roost } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, TestClock, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId, until } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from './server-view.js'

/**
 * A write's answer is lost, the client goes offline at once, and stays
 * away until the server has forgotten its idempotency keys (the clock moved
 * past idempotency.ttlSeconds and the sweeper ran; batches swept too). Its
 * retry is no longer replayed: it gets 409. The record's version carries the
 * key of the call that wrote it (`idempotencyKey`), so the client must
 * recognise its own write: outcome 'applied', no conflict, nothing written
 * again on the server.
 */
const TTL_SECONDS = 60
const RECORD_WRITE = (method: string) => new RegExp(`^${method} /collections/[^/ ]+/records`)
const COMMIT = /\r\nx-service-method: commit\r\n/i

describeBackends('client reliability: a retry after the server forgot its idempotency keys', (backend) => {
  let server: TestServer
  let proxy: TestProxy
  const clock = new TestClock()
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend, { idempotency: { ttlSeconds: TTL_SECONDS }, batches: { retentionSeconds: 0 } }, { clock: clock.now })
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

  /** Offline (after a lost answer) until the keys are gone; then back. */
  async function forgetKeysWhileOffline(seconds = TTL_SECONDS + 1) {
    await until(() => proxy.mode === 'down', 'the answer lost and the client offline')
    clock.advance(seconds)
    await server.app.get('sweeper').run()
    proxy.up()
  }

  /** Nothing surfaced as a conflict, nothing left to push. */
  async function expectClean(roost: Roost) {
    await roost.whenSynced()
    expect(await roost.conflicts()).toEqual([])
    expect(roost.status.get().conflicts).toBe(0)
    expect(await roost.store.listOutbox()).toEqual([])
  }

  it('a single create, update and delete, each retried after its key expired, are recognised as our own', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    const conflicts: string[] = []
    roost.onOutcome((outcome) => outcome.status !== 'applied' && conflicts.push(`${outcome.recordId}: ${outcome.status}`))

    proxy.cutAnswersOf(RECORD_WRITE('POST'), 1, { thenDown: true })
    const created = await pets.put('rex', { name: 'Rex' })
    await forgetKeysWhileOffline()
    expect(await roost.awaitWrite(created.writeId)).toMatchObject({ status: 'applied' })
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 1, data: { name: 'Rex' }, idempotencyKey: created.writeId })
    // The first try applied it (answer lost); the retry, no longer replayed, met our own write.
    expect(proxy.statuses(RECORD_WRITE('POST'))).toEqual([201, 409])

    proxy.cutAnswersOf(RECORD_WRITE('PUT'), 1, { thenDown: true })
    const updated = await pets.patch('rex', { age: 3 })
    await forgetKeysWhileOffline()
    expect(await roost.awaitWrite(updated.writeId)).toMatchObject({ status: 'applied' })
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 2, data: { name: 'Rex', age: 3 }, idempotencyKey: updated.writeId })
    // The first try applied it (answer lost); the retry, no longer replayed, met our own write.
    expect(proxy.statuses(RECORD_WRITE('PUT'))).toEqual([200, 409])

    proxy.cutAnswersOf(RECORD_WRITE('DELETE'), 1, { thenDown: true })
    const deleted = await pets.delete('rex')
    await forgetKeysWhileOffline()
    expect(await roost.awaitWrite(deleted.writeId)).toMatchObject({ status: 'applied' })
    expect((await view.records(collectionId)).get('rex')).toMatchObject({ version: 3, deleted: true, idempotencyKey: deleted.writeId })
    // The first try applied it (answer lost); the retry, no longer replayed, met our own write.
    expect(proxy.statuses(RECORD_WRITE('DELETE'))).toEqual([200, 409])

    expect(await view.changeCount(collectionId)).toBe(3)
    expect(conflicts).toEqual([])
    await expectClean(roost)
    expect(await pets.get('rex')).toMatchObject({ deleted: true, serverVersion: 3, pending: false })
  })

  it('a batch whose commit answer was lost, retried after its keys expired and the batch itself was swept, is recognised as our own', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    const conflicts: string[] = []
    roost.onOutcome((outcome) => outcome.status !== 'applied' && conflicts.push(`${outcome.recordId}: ${outcome.status}`))
    proxy.down()
    const writes = []
    for (let i = 0; i < 20; i++) writes.push(await pets.put(`n${i}`, { i }))
    proxy.up()
    proxy.cutAnswersOf(COMMIT, 1, { thenDown: true })
    // Past the batch's expiry (batches.ttlSeconds, 3600 by default) too: with retentionSeconds 0 the sweep deletes the committed batch.
    await forgetKeysWhileOffline(3600 + TTL_SECONDS + 1)
    for (const write of writes) expect((await roost.awaitWrite(write.writeId)).status).toBe('applied')
    // Committed (answer lost); after the sweep the same batch id was opened anew, and its commit met our own records.
    expect(proxy.statuses(COMMIT)).toEqual([200, 409])
    const records = await view.records(collectionId)
    expect(records.size).toBe(20)
    for (let i = 0; i < 20; i++) expect(records.get(`n${i}`)).toMatchObject({ version: 1, data: { i } })
    expect(await view.changeCount(collectionId)).toBe(20)
    expect(conflicts).toEqual([])
    await expectClean(roost)
    expect((await pets.list()).every((record) => record.serverVersion === 1 && !record.pending)).toBe(true)
  })

  it('a group (transaction) whose commit answer was lost, retried after its keys expired and its batch was swept, is recognised as our own', async () => {
    const { roost, pets, collectionId, view } = await setUp()
    const other = newId('b')
    roost.collection(other)
    await roost.whenSynced()
    const conflicts: string[] = []
    roost.onOutcome((outcome) => outcome.status !== 'applied' && conflicts.push(`${outcome.recordId}: ${outcome.status}`))
    proxy.cutAnswersOf(COMMIT, 1, { thenDown: true })
    const { writes } = await roost.transaction((scope) => {
      for (let i = 0; i < 5; i++) {
        scope.put(collectionId, `g${i}`, { i })
        scope.put(other, `g${i}`, { i, other: true })
      }
    })
    await forgetKeysWhileOffline(3600 + TTL_SECONDS + 1)
    for (const write of writes) expect((await roost.awaitWrite(write.writeId)).status).toBe('applied')
    expect(proxy.statuses(COMMIT)).toEqual([200, 409])
    for (const [id, extra] of [[collectionId, {}], [other, { other: true }]] as const) {
      const records = await view.records(id)
      for (let i = 0; i < 5; i++) expect(records.get(`g${i}`)).toMatchObject({ version: 1, data: { i, ...extra } })
      expect(await view.changeCount(id)).toBe(5)
    }
    expect(conflicts).toEqual([])
    await expectClean(roost)
    expect(await roost.store.listMeta('group:')).toEqual([])
    expect((await pets.list()).every((record) => record.serverVersion === 1 && !record.pending)).toBe(true)
  })
})
