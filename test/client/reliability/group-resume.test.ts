import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type ClientStore, type Roost } from '../../../src/client/index.js'
import type { GroupMeta } from '../../../src/client/engine/groups.js'
import { sqliteStore } from '../../../src/client/stores/sqlite.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId, until } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { ServerView } from './server-view.js'
import { GroupWatch } from './group-watch.js'

/**
 * A client "killed" in the middle of a group upload: a group of 30 records
 * in two collections is staged on the server (batch opened, appended), and
 * the network goes just before the commit; the client is closed, and a NEW
 * client on the same store resumes the SAME batch (same id) and commits it
 * once. Other clients, one hearing realtime events and one polling, must
 * never see part of the group.
 */
const COMMIT = /\r\nx-service-method: commit\r\n/i
const APPEND = /\r\nx-service-method: append\r\n/i
const PER_COLLECTION = 15

describeBackends('client reliability: a group upload resumed by a new client after the first one died', (backend) => {
  let server: TestServer
  let proxy: TestProxy
  const clients = new Clients()
  const temp = mkdtempSync(path.join(tmpdir(), 'roost-client-group-'))
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(async () => {
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

  async function scenario(openStore: () => ClientStore) {
    proxy = await new TestProxy(server.url).start()
    const user = await account(server.url)
    const [a, b] = [newId('a'), newId('b')]
    const view = await ServerView.signIn(server.url, user)
    let store = openStore()
    const first = clients.create({ url: proxy.url, auth: user, store, realtime: false })
    first.collection(a)
    first.collection(b)
    await first.whenSynced()

    // Two other devices: one hears realtime events, one polls.
    const ids = Array.from({ length: PER_COLLECTION }, (_, i) => `r${i}`)
    const watch = new GroupWatch({ [a]: ids, [b]: ids })
    const listening = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: true })
    const polling = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: false, pollIntervalMs: 100 })
    for (const other of [listening, polling]) {
      for (const collectionId of [a, b]) watch.follow(`${other === listening ? 'realtime' : 'polling'} ${collectionId}`, collectionId, other.collection(collectionId))
      await other.whenSynced()
    }

    proxy.downBefore(COMMIT)
    const { writes } = await first.transaction((scope) => {
      for (const id of ids) {
        scope.put(a, id, { collection: 'a', id })
        scope.put(b, id, { collection: 'b', id })
      }
    })
    await until(() => proxy.mode === 'down', 'the upload cut off just before its commit')
    const { plan } = await plannedGroup(store)
    expect(plan).not.toBeNull()
    const batchId = plan!.batchId
    // Staged on the server, applied nowhere.
    expect(await view.batch(batchId)).toMatchObject({ status: 'open', operationCount: 2 * PER_COLLECTION })
    expect(proxy.count(APPEND)).toBeGreaterThanOrEqual(1)
    expect(proxy.count(COMMIT)).toBe(0)
    expect((await view.feed(a)).length + (await view.feed(b)).length).toBe(0)

    // The client dies; a new one opens the same store.
    await first.close()
    proxy.up()
    store = openStore()
    const second = clients.create({ url: proxy.url, auth: user, store, realtime: false })
    for (const write of writes) expect((await second.awaitWrite(write.writeId)).status).toBe('applied')
    await second.whenSynced()

    // The same batch, committed once.
    expect(await view.batch(batchId)).toMatchObject({ status: 'committed', operationCount: 2 * PER_COLLECTION })
    expect((await view.batch(batchId))?.results).toHaveLength(2 * PER_COLLECTION)
    expect(proxy.count(COMMIT)).toBe(1)
    for (const [collectionId, name] of [[a, 'a'], [b, 'b']]) {
      const records = await view.records(collectionId)
      expect(records.size).toBe(PER_COLLECTION)
      for (const id of ids) expect(records.get(id)).toMatchObject({ version: 1, data: { collection: name, id } })
      expect(await view.changeCount(collectionId)).toBe(PER_COLLECTION)
    }
    expect(await store.listMeta('group:')).toEqual([])
    expect(await store.listOutbox()).toEqual([])

    // Every other device got all of it, and never a part.
    await until(async () => watch.complete(), 'the other devices to see the whole group', 15_000)
    watch.expectNeverPartial()
    return { second }
  }

  it('on the same memory store object', async () => {
    const store = memoryStore()
    await scenario(() => store)
  })

  it('on the same SQLite store file (opened again)', async () => {
    const file = path.join(temp, `${newId('store')}.sqlite`)
    await scenario(() => sqliteStore(file))
  })
})

export type { Roost }
