import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type ClientStore } from '../../../src/client/index.js'
import type { GroupMeta } from '../../../src/client/engine/groups.js'
import { sqliteStore } from '../../../src/client/stores/sqlite.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId, until } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { GroupWatch } from './group-watch.js'
import { ServerView } from './server-view.js'

/**
 * A client "killed" in the middle of a group upload: a group of 30 records
 * in two collections is staged on the server (batch opened, appended), and
 * the network goes just before the commit; the client is closed (or its
 * process SIGKILLed), and a NEW client on the same store resumes the SAME
 * batch (same id) and commits it once. Other devices, one hearing realtime
 * events and one polling, must never see part of the group.
 */
const COMMIT = /\r\nx-service-method: commit\r\n/i
const APPEND = /\r\nx-service-method: append\r\n/i
const PER_COLLECTION = 15
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

type User = Awaited<ReturnType<typeof account>>
interface FirstClient {
  /** Writes the group through the proxy (which goes down just before the commit), then dies; answers the group's write ids. */
  run(user: User, a: string, b: string, ids: string[]): Promise<string[]>
  /** The store the new client opens. */
  reopen(): ClientStore
}

describeBackends('client reliability: a group upload resumed by a new client after the first one died', (backend) => {
  let server: TestServer
  let proxy: TestProxy
  const clients = new Clients()
  const children = new Set<ReturnType<typeof spawn>>()
  const temp = mkdtempSync(path.join(tmpdir(), 'roost-client-group-'))
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL')
    children.clear()
    await clients.closeAll()
    await proxy?.close()
  })
  afterAll(async () => {
    await server?.close()
    rmSync(temp, { recursive: true, force: true })
  })

  /** The one group waiting in the store (written by the transaction). */
  async function plannedGroup(store: ClientStore): Promise<GroupMeta> {
    const groups = await store.listMeta<GroupMeta>('group:')
    expect(groups).toHaveLength(1)
    return groups[0][1]
  }

  async function scenario(first: FirstClient) {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const [a, b] = [newId('a'), newId('b')]
    const view = await ServerView.signIn(server.url, user)
    await view.createCollection(a)
    await view.createCollection(b)

    // Two other devices: one hears realtime events, one polls.
    const ids = Array.from({ length: PER_COLLECTION }, (_, i) => `r${i}`)
    const watch = new GroupWatch({ [a]: ids, [b]: ids })
    const listening = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: true })
    const polling = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: false, pollIntervalMs: 100 })
    for (const [name, other] of [['realtime', listening], ['polling', polling]] as const) {
      for (const collectionId of [a, b]) watch.follow(`${name} ${collectionId}`, collectionId, other.collection(collectionId))
      await other.whenSynced()
    }

    proxy.downBefore(COMMIT)
    const writeIds = await first.run(user, a, b, ids)
    expect(writeIds).toHaveLength(2 * PER_COLLECTION)
    let store = first.reopen()
    const { plan } = await plannedGroup(store)
    expect(plan).not.toBeNull()
    const batchId = plan!.batchId
    // Staged on the server, applied nowhere.
    expect(await view.batch(batchId)).toMatchObject({ status: 'open', operationCount: 2 * PER_COLLECTION })
    expect(proxy.count(APPEND)).toBeGreaterThanOrEqual(1)
    expect(proxy.count(COMMIT)).toBe(0)
    expect((await view.feed(a)).length + (await view.feed(b)).length).toBe(0)

    // A new client on the same store.
    proxy.up()
    const second = clients.create({ url: proxy.url, auth: user, store, realtime: false })
    for (const writeId of writeIds) expect((await second.awaitWrite(writeId)).status).toBe('applied')
    await second.whenSynced()

    // The same batch, committed once.
    const committed = await view.batch(batchId)
    expect(committed).toMatchObject({ status: 'committed', operationCount: 2 * PER_COLLECTION })
    expect(committed?.results).toHaveLength(2 * PER_COLLECTION)
    expect(proxy.count(COMMIT)).toBe(1)
    for (const [collectionId, name] of [[a, 'a'], [b, 'b']]) {
      const records = await view.records(collectionId)
      expect(records.size).toBe(PER_COLLECTION)
      for (const id of ids) expect(records.get(id)).toMatchObject({ version: 1, data: { collection: name, id } })
      expect(await view.changeCount(collectionId)).toBe(PER_COLLECTION)
    }
    store = second.store
    expect(await store.listMeta('group:')).toEqual([])
    expect(await store.listOutbox()).toEqual([])

    // Every other device got all of it, and never a part.
    await until(() => watch.complete(), 'the other devices to see the whole group', 15_000)
    watch.expectNeverPartial()
    watch.stop()
  }

  /** A client in this process, closed once the upload is cut off. */
  function inProcess(open: () => ClientStore): FirstClient {
    return {
      async run(user, a, b, ids) {
        const first = clients.create({ url: proxy.url, auth: user, store: open(), realtime: false })
        first.collection(a)
        first.collection(b)
        await first.whenSynced()
        const { writes } = await first.transaction((scope) => {
          for (const id of ids) {
            scope.put(a, id, { collection: 'a', id })
            scope.put(b, id, { collection: 'b', id })
          }
        })
        await until(() => proxy.mode === 'down', 'the upload cut off just before its commit')
        await first.close()
        return writes.map((write) => write.writeId)
      },
      reopen: open
    }
  }

  it('on the same memory store object', async () => {
    const store = memoryStore()
    await scenario(inProcess(() => store))
  })

  it('on the same SQLite store file (opened again)', async () => {
    const file = path.join(temp, `${newId('store')}.sqlite`)
    await scenario(inProcess(() => sqliteStore(file)))
  })

  it('after the client PROCESS is killed (SIGKILL) mid-upload, on its SQLite store file', async () => {
    const file = path.join(temp, `${newId('store')}.sqlite`)
    await scenario({
      async run(user, a, b) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/client/reliability/group-writer.ts'], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            ROOST_URL: proxy.url,
            EMAIL: user.email,
            PASSWORD: user.password,
            STORE_FILE: file,
            COLLECTION_A: a,
            COLLECTION_B: b,
            PER_COLLECTION: String(PER_COLLECTION)
          }
        })
        children.add(child)
        let stdout = ''
        let stderr = ''
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
        const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
        await until(() => (stdout.includes('\n') && proxy.mode === 'down') || child.exitCode !== null, 'the child to write its group and be cut off before the commit', 30_000).catch(
          (error: Error) => {
            throw new Error(`${error.message}\n--- child stdout ---\n${stdout}\n--- stderr ---\n${stderr}`)
          }
        )
        expect(child.exitCode, stderr).toBeNull()
        child.kill('SIGKILL')
        expect(await exited).toBe('SIGKILL')
        children.delete(child)
        return (JSON.parse(stdout.split('\n')[0]) as { writeIds: string[] }).writeIds
      },
      reopen: () => sqliteStore(file)
    })
  }, 60_000)
})
