import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type ConflictPolicy, type Json, type RecordView } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, localData, newId, serverData, session, until, outcome, synced } from './helpers.js'
import { TestProxy } from './proxy.js'

/**
 * roost.transaction: a group of writes lands whole or not at all. Device b
 * writes a group offline (g1 changed, g2 created) while device a changes
 * g1; a comes back first, so b's group meets a conflict on g1. A third
 * client watches the collection all along and must never see part of the
 * group: g2 exists exactly when g1 holds b's data.
 */
describeBackends('client groups', (backend) => {
  let server: TestServer
  const clients = new Clients()
  const proxies: TestProxy[] = []
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(async () => {
    await clients.closeAll()
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()))
  })
  afterAll(async () => {
    await server?.close()
  })

  async function scenario(policy?: ConflictPolicy) {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
    expect((await api('POST', `collections/${collectionId}/records`, { id: 'g1', data: { by: 'nobody' } })).status).toBe(201)
    const proxyA = await new TestProxy(server.url).start()
    const proxyB = await new TestProxy(server.url).start()
    proxies.push(proxyA, proxyB)
    const options = policy === undefined ? {} : { conflictPolicy: policy }
    const a = clients.create({ url: proxyA.url, auth: user, store: memoryStore() })
    const b = clients.create({ url: proxyB.url, auth: user, store: memoryStore() })
    // Two watchers: one hears events over socket.io, the other polls the change feed.
    const watcher = clients.create({ url: server.url, auth: user, store: memoryStore() })
    const poller = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: false })
    const ca = a.collection(collectionId, options)
    const cb = b.collection(collectionId, options)
    const seen: Array<Record<string, Json>> = []
    const snapshot = (records: RecordView[]) => seen.push(Object.fromEntries(records.map((record) => [record.id, record.data])))
    watcher.collection(collectionId).watch(snapshot)
    poller.collection(collectionId).watch(snapshot)
    await Promise.all([synced(a), synced(b), synced(watcher), synced(poller)])
    proxyA.down()
    proxyB.down()
    await ca.put('g1', { by: 'a' })
    const group = await b.transaction((scope) => {
      scope.put(collectionId, 'g1', { by: 'b' })
      scope.put(collectionId, 'g2', { by: 'b' })
    })
    // Locally the group is there at once.
    expect(await localData(b, collectionId)).toEqual({ g1: { by: 'b' }, g2: { by: 'b' } })
    proxyA.up()
    await synced(a)
    await until(async () => JSON.stringify(await localData(watcher, collectionId)) === JSON.stringify({ g1: { by: 'a' } }), "the watcher to see a's write")
    proxyB.up()
    /** Every snapshot the watcher saw holds the whole group or none of it. */
    const neverPartial = () => {
      for (const records of seen) {
        const groupLanded = 'g2' in records
        expect(groupLanded, JSON.stringify(records)).toBe(JSON.stringify(records.g1) === JSON.stringify({ by: 'b' }))
      }
    }
    return { a, b, cb, watcher, poller, api, collectionId, group, seen, neverPartial }
  }

  it('manual: nothing of the group lands while a record of it conflicts; once resolved, it lands whole', async () => {
    const { a, b, cb, watcher, poller, api, collectionId, group, neverPartial } = await scenario()
    const [g1, g2] = group.writes
    expect(await outcome(b, g1.writeId)).toMatchObject({ status: 'conflict', resolution: 'manual', server: { data: { by: 'a' } } })
    await until(() => b.status.get().conflicts === 1, 'the conflict in the status')
    // The rest of the group waits with it: nothing reached the server.
    expect(await serverData(api, collectionId)).toEqual({ g1: { by: 'a' } })
    expect(await cb.get('g2')).toMatchObject({ pending: true, serverVersion: null })
    // g2's write waits for the app with its group's conflict: counted under conflicts, not as pending for the sync loop.
    expect(b.status.get().pending).toBe(0)
    expect((await b.store.listOutbox()).filter((entry) => entry.id === g2.writeId)).toHaveLength(1)
    const resolved = await cb.resolve('g1', 'local')
    expect(await outcome(b, resolved!.writeId)).toMatchObject({ status: 'applied' })
    expect(await outcome(b, g2.writeId)).toMatchObject({ status: 'applied' })
    await synced(b)
    expect(await serverData(api, collectionId)).toEqual({ g1: { by: 'b' }, g2: { by: 'b' } })
    await synced(a)
    await until(async () => Object.keys(await localData(watcher, collectionId)).length === 2, 'the watcher to see the group')
    await until(async () => Object.keys(await localData(poller, collectionId)).length === 2, 'the poller to see the group')
    expect(await localData(a, collectionId)).toEqual({ g1: { by: 'b' }, g2: { by: 'b' } })
    // Landed in one commit: consecutive positions in the feed.
    const { body } = await api('GET', `collections/${collectionId}/changes`)
    const seqs = (body.changes as Array<{ id: string; seq: number }>).filter((change) => change.id === 'g1' || change.id === 'g2').map((change) => change.seq)
    expect(Math.abs(seqs[0] - seqs[1])).toBe(1)
    neverPartial()
  })

  it("'server-wins': the whole group is dropped, also its records without a conflict", async () => {
    const { b, cb, api, collectionId, group, neverPartial, watcher } = await scenario('server-wins')
    for (const write of group.writes) expect(await outcome(b, write.writeId)).toMatchObject({ status: 'conflict', resolution: 'server-wins' })
    await synced(b)
    expect(await cb.get('g2')).toBeUndefined()
    expect(await localData(b, collectionId)).toEqual({ g1: { by: 'a' } })
    expect(await serverData(api, collectionId)).toEqual({ g1: { by: 'a' } })
    await synced(watcher)
    expect(await localData(watcher, collectionId)).toEqual({ g1: { by: 'a' } })
    neverPartial()
  })

  it("'client-wins': the group lands whole, on top of the other device's version", async () => {
    const { a, b, api, collectionId, group, neverPartial, watcher, poller } = await scenario('client-wins')
    for (const write of group.writes) expect(await outcome(b, write.writeId)).toMatchObject({ status: 'applied' })
    await synced(b)
    expect(await serverData(api, collectionId)).toEqual({ g1: { by: 'b' }, g2: { by: 'b' } })
    await synced(a)
    expect(await localData(a, collectionId)).toEqual({ g1: { by: 'b' }, g2: { by: 'b' } })
    await until(async () => Object.keys(await localData(watcher, collectionId)).length === 2, 'the watcher to see the group')
    await until(async () => Object.keys(await localData(poller, collectionId)).length === 2, 'the poller to see the group')
    neverPartial()
  })
})
