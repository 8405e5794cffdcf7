import { randomBytes } from 'node:crypto'
import { afterEach, expect, it } from 'vitest'
import { memoryStore, type Roost } from '../../../src/client/index.js'
import { describeBackends, type TestBackend, type TestDatabase } from '../../helpers/backends.js'
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js'
import { account, Clients, newId, until } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from './server-view.js'

/**
 * The server is killed (SIGKILL) in the middle of a client's sync and
 * started again on the same database (a SQLite file, a PostgreSQL database
 * that outlives the process), on another port: the proxy in front is
 * pointed at it. The client, with many pending writes (updates of synced
 * records and new records), must finish: every write on the server exactly
 * once (versions, one seq per write), every outcome 'applied', the outbox
 * empty. With writes pushed one by one (killed after some of them reached
 * the server; killed after one was applied, before its answer got out), and
 * as one batch (killed as its commit goes out; killed after its commit was
 * applied, before the answer got out).
 */
const SYNCED = 60
const NEW = 60
const COMMIT = /\r\nx-service-method: commit\r\n/i
const RECORD_WRITE = /^(POST|PUT) \/collections\/[^/ ]+\/records/
const AUTH_SECRET = `restart-test-secret-${randomBytes(16).toString('hex')}`

describeBackends('client reliability: the server killed mid-sync and started again', (backend) => {
  let database: TestDatabase | undefined
  let proxy: TestProxy | undefined
  const servers: ServerProcess[] = []
  const clients = new Clients()
  afterEach(async () => {
    await clients.closeAll()
    await proxy?.close()
    for (const server of servers.splice(0)) await server.kill()
    await database?.cleanup()
    database = undefined
  })

  const start = async (db: TestDatabase) => {
    const server = await startServerProcess(db, {}, { AUTH_SECRET })
    servers.push(server)
    return server
  }

  async function scenario(b: TestBackend, options: { batchThreshold: number; realtime: boolean; killWhen: (proxy: TestProxy) => Promise<void> }) {
    database = await b.create()
    const first = await start(database)
    proxy = await new TestProxy(first.url).start()
    const user = await account(first.url)
    const collectionId = newId()
    const roost = clients.create({ url: proxy.url, auth: user, store: memoryStore(), realtime: options.realtime, batchThreshold: options.batchThreshold })
    const pets = roost.collection(collectionId)
    for (let i = 0; i < SYNCED; i++) await pets.put(`old${i}`, { i })
    await roost.whenSynced()

    // Offline: many writes pile up.
    proxy.down()
    const writeIds: string[] = []
    for (let i = 0; i < SYNCED; i++) writeIds.push((await pets.patch(`old${i}`, { updated: true })).writeId)
    for (let i = 0; i < NEW; i++) writeIds.push((await pets.put(`new${i}`, { i })).writeId)
    expect((await roost.store.listOutbox()).length).toBe(SYNCED + NEW)

    // Back online; the server dies mid-push.
    const killed = options.killWhen(proxy)
    proxy.up()
    await killed
    first.child.kill('SIGKILL')
    await first.exited
    proxy.loseHeld()
    const pendingAtKill = (await roost.store.listOutbox()).length
    const second = await start(database)
    proxy.retarget(second.url)

    await finished(roost, writeIds)
    const view = await ServerView.signIn(second.url, user)
    const records = await view.records(collectionId)
    expect(records.size).toBe(SYNCED + NEW)
    for (let i = 0; i < SYNCED; i++) expect(records.get(`old${i}`)).toMatchObject({ version: 2, data: { i, updated: true } })
    for (let i = 0; i < NEW; i++) expect(records.get(`new${i}`)).toMatchObject({ version: 1, data: { i } })
    expect(await view.changeCount(collectionId)).toBe(2 * SYNCED + NEW)
    return { pendingAtKill }
  }

  async function finished(roost: Roost, writeIds: string[]) {
    for (const writeId of writeIds) expect((await roost.awaitWrite(writeId)).status).toBe('applied')
    await until(async () => (await roost.store.listOutbox()).length === 0, 'an empty outbox', 30_000)
    await roost.whenSynced()
    expect(await roost.conflicts()).toEqual([])
  }

  it(
    'writes pushed one by one: killed after some reached the server',
    async () => {
      const { pendingAtKill } = await scenario(backend, {
        batchThreshold: 10_000,
        realtime: true,
        killWhen: (p) => until(() => p.count(RECORD_WRITE) >= 40, 'some writes pushed', 30_000)
      })
      // Killed in the middle: some writes were still to go.
      expect(pendingAtKill).toBeGreaterThan(0)
    },
    120_000
  )

  it(
    'writes pushed one by one: killed after one was applied, before its answer got out',
    async () => {
      await scenario(backend, {
        batchThreshold: 10_000,
        realtime: false,
        killWhen: async (p) => {
          await until(() => p.count(RECORD_WRITE) >= 20, 'some writes pushed', 30_000)
          p.holdAnswersOf(RECORD_WRITE)
          await until(() => p.heldAnswers >= 1, 'a write applied, its answer held back', 30_000)
        }
      })
    },
    120_000
  )

  it(
    'one batch: killed after its commit was applied, before the answer got out',
    async () => {
      await scenario(backend, {
        batchThreshold: 8,
        realtime: false,
        killWhen: async (p) => {
          p.holdAnswersOf(COMMIT)
          await until(() => p.heldAnswers === 1, 'the commit applied, its answer held back', 30_000)
        }
      })
      // The synced records' batch; the commit applied before the kill (its
      // answer lost); the same commit sent again to the new server, which
      // answered it as committed. No conflict anywhere.
      expect(proxy!.statuses(COMMIT)).toEqual([200, 200, 200])
      expect(proxy!.answers.filter((answer) => answer.status === 409)).toEqual([])
    },
    120_000
  )

  it(
    'one batch: killed as its commit goes out',
    async () => {
      await scenario(backend, {
        batchThreshold: 8,
        realtime: false,
        killWhen: (p) => p.nextRequest(COMMIT)
      })
      expect(proxy!.count(COMMIT)).toBeGreaterThanOrEqual(2)
    },
    120_000
  )
})
