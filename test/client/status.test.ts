import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type Progress, type SyncStatus } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, localData, newId, outcome, serverData, session, synced, until, within } from './helpers.js'
import { TestProxy } from './proxy.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The sync status, progress of a first download, whenSynced(), and the fatal state. */
describeBackends('client status', (backend) => {
  let server: TestServer
  let proxy: TestProxy | undefined
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(async () => {
    await clients.closeAll()
    await proxy?.close()
    proxy = undefined
  })
  afterAll(async () => {
    await server?.close()
  })

  it('pending, oldestPendingAt, connected, lastSyncedAt and firstSyncDone follow the writes and the network; whenSynced() waits for both directions', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    proxy = await new TestProxy(server.url).start()
    const client = clients.create({ url: proxy.url, auth: user, store: memoryStore(), autoStart: false })
    const seen: SyncStatus[] = []
    client.status.subscribe((status) => seen.push(status))
    expect(client.status.get()).toMatchObject({ connected: false, pending: 0, oldestPendingAt: null, conflicts: 0, rejected: 0, lastSyncedAt: null, firstSyncDone: false, fatal: null })
    const notes = client.collection(collectionId)
    await client.start()
    await synced(client)
    const first = client.status.get()
    expect(first).toMatchObject({ connected: true, pending: 0, oldestPendingAt: null, firstSyncDone: true, error: null })
    expect(first.lastSyncedAt).not.toBeNull()
    expect(seen.some((status) => status.pulling)).toBe(true)

    proxy.down()
    const w1 = await notes.put('a', { n: 1 })
    await sleep(5)
    await notes.put('b', { n: 1 })
    await notes.patch('a', { n: 2 })
    await until(() => client.status.get().pending === 3, 'three pending writes')
    const outbox = await client.store.listOutbox()
    expect(outbox.find((entry) => entry.id === w1.writeId)?.createdAt).toBeDefined()
    expect(client.status.get().oldestPendingAt).toBe(outbox.find((entry) => entry.id === w1.writeId)?.createdAt)
    await until(() => !client.status.get().connected && client.status.get().error !== null, 'the client to notice it is offline')
    expect(client.status.get().error?.code).toBe(0)
    expect(client.status.get().lastSyncedAt).toBe(first.lastSyncedAt)
    // Meanwhile, another device writes; whenSynced() must bring that too.
    expect((await api('POST', `collections/${collectionId}/records`, { id: 'other', data: { by: 'other' } })).status).toBe(201)
    let done = false
    const waiting = client.whenSynced().then(() => (done = true))
    await sleep(300)
    expect(done).toBe(false)

    proxy.up()
    await within(waiting, 'whenSynced()')
    // Resolved only once the writes were pushed and the feed pulled.
    expect(await serverData(api, collectionId)).toEqual({ a: { n: 2 }, b: { n: 1 }, other: { by: 'other' } })
    expect(await localData(client, collectionId)).toEqual({ a: { n: 2 }, b: { n: 1 }, other: { by: 'other' } })
    const after = client.status.get()
    expect(after).toMatchObject({ connected: true, pending: 0, oldestPendingAt: null, error: null, firstSyncDone: true })
    expect(Date.parse(after.lastSyncedAt!)).toBeGreaterThan(Date.parse(first.lastSyncedAt!))
    expect((await outcome(client, w1.writeId)).status).toBe('applied')
  })

  it('onProgress reports a first download of 2500 records page by page (pageSize 1000)', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
    for (let start = 0; start < 2500; start += 1000) {
      const items = Array.from({ length: Math.min(1000, 2500 - start) }, (_, i) => ({ id: `r${String(start + i).padStart(4, '0')}`, data: { i: start + i } }))
      expect((await api('POST', `collections/${collectionId}/records`, items)).status).toBe(201)
    }
    const client = clients.create({ url: server.url, auth: user, store: memoryStore(), pageSize: 1000, autoStart: false })
    const progress: Progress[] = []
    client.onProgress((event) => progress.push(event))
    const firstSync: boolean[] = []
    client.onProgress(() => firstSync.push(client.status.get().firstSyncDone))
    const records = client.collection(collectionId)
    await client.start()
    await synced(client, 30_000)
    const pulls = progress.filter((event) => event.phase === 'pull' && event.collectionId === collectionId)
    expect(pulls.map((event) => event.done)).toEqual([1000, 2000, 2500])
    expect(firstSync.every((done) => !done)).toBe(true)
    expect(client.status.get().firstSyncDone).toBe(true)
    const list = await records.list()
    expect(list).toHaveLength(2500)
    expect(list[2499]).toMatchObject({ id: 'r2499', data: { i: 2499 }, serverVersion: 1, pending: false })
  })

  it('a collection deleted for good on the server is fatal (404): persisted in the store, whenSynced() rejects, until resetError({ forgetCollection })', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const doomed = newId('doomed')
    const kept = newId('kept')
    proxy = await new TestProxy(server.url).start()
    const store = memoryStore()
    const client = clients.create({ url: proxy.url, auth: user, store })
    const doomedNotes = client.collection(doomed)
    const keptNotes = client.collection(kept)
    await doomedNotes.put('x', { n: 1 })
    await keptNotes.put('y', { n: 1 })
    await synced(client)
    // A write to it is pending when it goes.
    proxy.down()
    const lastWrite = await doomedNotes.put('x', { n: 2 })
    expect((await api('DELETE', `collections/${doomed}`)).status).toBe(200)
    proxy.up()
    await until(() => client.status.get().fatal !== null, 'the fatal state')
    expect(client.status.get().fatal).toMatchObject({ code: 404, name: 'NotFound', collectionId: doomed })
    await expect(within(client.whenSynced(), 'whenSynced() to reject')).rejects.toMatchObject({ code: 404 })
    expect(await store.getMeta('fatal')).toMatchObject({ code: 404, collectionId: doomed })
    await client.close()

    // A new client on the same store starts in the fatal state, and does not sync.
    const again = clients.create({ url: server.url, auth: user, store })
    await until(() => again.status.get().fatal !== null, 'the fatal state loaded from the store')
    expect(again.status.get().fatal).toMatchObject({ code: 404, collectionId: doomed })
    await expect(within(again.whenSynced(), 'whenSynced() to reject')).rejects.toMatchObject({ code: 404 })
    expect((await api('POST', `collections/${kept}/records`, { id: 'z', data: { n: 1 } })).status).toBe(201)
    await sleep(300)
    expect(await again.collection(kept).get('z')).toBeUndefined()

    await again.resetError({ forgetCollection: doomed })
    expect(again.status.get().fatal).toBeNull()
    // Its records and its unsent write are dropped: the write ends rejected with the 404.
    expect(await outcome(again, lastWrite.writeId)).toMatchObject({ status: 'rejected', error: { code: 404 } })
    expect(await store.listRecords(doomed)).toEqual([])
    expect(await store.listOutbox()).toEqual([])
    await synced(again)
    expect(again.status.get()).toMatchObject({ fatal: null, error: null, pending: 0 })
    expect(await store.getMeta('fatal')).toBeUndefined()
    expect(await localData(again, kept)).toEqual({ y: { n: 1 }, z: { n: 1 } })
  })
})
