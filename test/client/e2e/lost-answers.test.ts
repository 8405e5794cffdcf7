import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from '../reliability/server-view.js'

/**
 * Answers lost after the server committed, in an encrypted collection: the
 * retry must carry the very same envelope (the attempt is sealed once, when
 * it is planned, and stored), or the server would see a different request
 * under the same Idempotency-Key and refuse it. Nothing applied twice,
 * everything 'applied', the data as written.
 */
const RECORD_POST = /^POST \/collections\/[^/ ]+\/records/
const COMMIT = /\r\nx-service-method: commit\r\n/i

describeBackends('end-to-end encryption: answers lost after the commit', (backend) => {
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

  it('a single write and a batch whose answers are lost are applied once each, with the envelope sent first', async () => {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const roost = clients.create({ url: proxy.url, auth: user, store: memoryStore(), realtime: false, batchThreshold: 8 })
    await roost.account.create()
    const collectionId = newId()
    const notes = roost.collection(collectionId, { encrypted: true })
    await roost.whenSynced()
    const view = await ServerView.signIn(server.url, user)

    proxy.cutAnswersOf(RECORD_POST, 2)
    const single = await notes.put('one', { text: 'single' })
    expect((await roost.awaitWrite(single.writeId)).status).toBe('applied')
    expect(proxy.cutAnswers).toBe(2)

    proxy.cutAnswersOf(COMMIT, 2)
    const many = []
    for (let i = 0; i < 10; i++) many.push(await notes.put(`m${i}`, { i }))
    for (const receipt of many) expect((await roost.awaitWrite(receipt.writeId)).status).toBe('applied')
    expect(proxy.cutAnswers).toBe(4)

    const records = await view.records(collectionId)
    expect(records.get('one')).toMatchObject({ version: 1, idempotencyKey: single.writeId })
    for (let i = 0; i < 10; i++) expect(records.get(`m${i}`)).toMatchObject({ version: 1 })
    for (const record of records.values()) expect(Object.keys(record.data as object).sort()).toEqual(['c', 'e', 'n', 'v'])
    expect(await view.changeCount(collectionId)).toBe(11)
    expect((await notes.get('one'))?.data).toEqual({ text: 'single' })
    expect((await notes.get('m7'))?.data).toEqual({ i: 7 })
    expect(await roost.rejectedWrites()).toEqual([])
  })
})
