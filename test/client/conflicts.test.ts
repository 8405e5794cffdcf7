import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type ConflictPolicy, type Json, type Roost, type WriteOutcome } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, localData, newId, serverData, session, until, type Api, outcome, synced } from './helpers.js'
import { TestProxy } from './proxy.js'

/**
 * Two devices edit the same records while offline (each behind its own
 * proxy, down), then come back one after the other: the second one's
 * pushes meet the first one's versions (409), and the collection's
 * conflict policy decides. Whatever the policy, both end with the same
 * records as the server.
 */
describeBackends('client conflicts', (backend) => {
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

  /** Device `a` and `b` behind proxies, on `collectionId` holding `initial`, both synced; `sharing`: b is another user, a writer. */
  async function twoDevices(initial: Record<string, Json>, policy?: ConflictPolicy, sharing = false) {
    const owner = await account(server.url)
    const other = sharing ? await account(server.url) : owner
    const api = await session(server.url, owner)
    const collectionId = newId()
    expect((await api('POST', 'collections', { id: collectionId })).status).toBe(201)
    if (sharing) expect((await api('POST', `collections/${collectionId}/members`, { userId: other.userId, role: 'writer' })).status).toBe(201)
    for (const [id, data] of Object.entries(initial)) expect((await api('POST', `collections/${collectionId}/records`, { id, data })).status).toBe(201)
    const proxyA = await new TestProxy(server.url).start()
    const proxyB = await new TestProxy(server.url).start()
    proxies.push(proxyA, proxyB)
    const a = clients.create({ url: proxyA.url, auth: owner, store: memoryStore() })
    const b = clients.create({ url: proxyB.url, auth: other, store: memoryStore() })
    const ca = a.collection(collectionId, policy === undefined ? {} : { conflictPolicy: policy })
    const cb = b.collection(collectionId, policy === undefined ? {} : { conflictPolicy: policy })
    await Promise.all([synced(a), synced(b)])
    const outcomes: WriteOutcome[] = []
    b.onOutcome((outcome) => outcomes.push(outcome))
    return { a, b, ca, cb, api, collectionId, proxyA, proxyB, outcomes }
  }

  /** Both devices offline. */
  async function offline(...proxies: TestProxy[]) {
    for (const proxy of proxies) proxy.down()
  }

  /** Brings `a` back and waits until it has pushed, then `b`. */
  async function reconnect(a: Roost, proxyA: TestProxy, b: Roost, proxyB: TestProxy) {
    proxyA.up()
    await synced(a)
    proxyB.up()
    await synced(b)
  }

  /** Everyone has what the server has. */
  async function expectConverged(api: Api, collectionId: string, ...devices: Roost[]) {
    const onServer = await serverData(api, collectionId)
    for (const device of devices) {
      await until(async () => JSON.stringify(await localData(device, collectionId)) === JSON.stringify(onServer), 'a device to converge')
    }
    return onServer
  }

  it("manual (the default): the conflict is kept for the app until resolve(), with 'local', 'server' or new data", async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB, outcomes } = await twoDevices({ r1: { n: 0 }, r2: { n: 0 }, r3: { n: 0 } })
    await offline(proxyA, proxyB)
    for (const id of ['r1', 'r2', 'r3']) await ca.put(id, { n: 1, by: 'a' })
    const writes = await Promise.all(['r1', 'r2', 'r3'].map((id) => cb.put(id, { n: 2, by: 'b' })))
    proxyA.up()
    await synced(a)
    proxyB.up()
    for (const write of writes) {
      const result = await outcome(b, write.writeId)
      expect(result).toMatchObject({ status: 'conflict', resolution: 'manual', recordId: write.id, server: { version: 2, data: { n: 1, by: 'a' } } })
    }
    await until(() => b.status.get().conflicts === 3, 'three conflicts in the status')
    expect(b.status.get().pending).toBe(0)
    expect((await b.conflicts()).map((record) => record.id).sort()).toEqual(['r1', 'r2', 'r3'])
    const kept = await cb.get('r1')
    // The local data stays ours; the server's record is in `conflict`.
    expect(kept).toMatchObject({ data: { n: 2, by: 'b' }, serverVersion: 1, conflict: { version: 2, data: { n: 1, by: 'a' } } })
    expect(outcomes.filter((outcome) => outcome.status === 'conflict')).toHaveLength(3)
    // Nothing of b reached the server while the conflicts wait.
    expect(await serverData(api, collectionId)).toEqual({ r1: { n: 1, by: 'a' }, r2: { n: 1, by: 'a' }, r3: { n: 1, by: 'a' } })

    const local = await cb.resolve('r1', 'local')
    expect(await cb.resolve('r2', 'server')).toBeNull()
    const merged = await cb.resolve('r3', { data: { n: 3, by: 'both' } })
    expect((await outcome(b, local!.writeId)).status).toBe('applied')
    expect((await outcome(b, merged!.writeId)).status).toBe('applied')
    await synced(b)
    await synced(a)
    expect(b.status.get().conflicts).toBe(0)
    expect(await b.conflicts()).toEqual([])
    expect((await cb.get('r1'))?.conflict).toBeNull()
    const onServer = await expectConverged(api, collectionId, a, b)
    expect(onServer).toEqual({ r1: { n: 2, by: 'b' }, r2: { n: 1, by: 'a' }, r3: { n: 3, by: 'both' } })
    // Resolved on top of the server's version: r1 and r3 at 3, r2 untouched at 2.
    expect((await ca.get('r1'))?.serverVersion).toBe(3)
    expect((await cb.get('r2'))?.serverVersion).toBe(2)
    // Nothing left to resolve.
    await expect(cb.resolve('r1', 'local')).rejects.toThrow(/no conflict/)
  })

  it("'server-wins': the server's record replaces ours, and the outcome says so", async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { n: 0 } }, 'server-wins')
    await offline(proxyA, proxyB)
    await ca.put('r', { n: 1, by: 'a' })
    const write = await cb.put('r', { n: 2, by: 'b' })
    const again = await cb.patch('r', { more: true })
    await reconnect(a, proxyA, b, proxyB)
    for (const id of [write.writeId, again.writeId]) {
      expect(await outcome(b, id)).toMatchObject({ status: 'conflict', resolution: 'server-wins', server: { version: 2, data: { n: 1, by: 'a' } } })
    }
    expect(await cb.get('r')).toMatchObject({ data: { n: 1, by: 'a' }, serverVersion: 2, pending: false, conflict: null })
    expect(b.status.get().conflicts).toBe(0)
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ r: { n: 1, by: 'a' } })
  })

  it("'client-wins': ours is pushed again on top of the server's version", async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { n: 0 } }, 'client-wins')
    await offline(proxyA, proxyB)
    await ca.put('r', { n: 1, by: 'a' })
    const write = await cb.put('r', { n: 2, by: 'b' })
    await reconnect(a, proxyA, b, proxyB)
    expect(await outcome(b, write.writeId)).toMatchObject({ status: 'applied', record: { version: 3, data: { n: 2, by: 'b' } } })
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ r: { n: 2, by: 'b' } })
    expect((await ca.get('r'))?.serverVersion).toBe(3)
  })

  it('a merge function: two users sharing the collection each set other fields; both fields end on the server', async () => {
    const calls: unknown[] = []
    const merge: ConflictPolicy = ({ local, server }) => {
      calls.push({ local, server: server?.data })
      return { data: { ...(server?.data as Record<string, Json>), ...(local as Record<string, Json>) } }
    }
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { title: 'x' } }, merge, true)
    await offline(proxyA, proxyB)
    await ca.patch('r', { done: true })
    const write = await cb.patch('r', { title: 'y' })
    await reconnect(a, proxyA, b, proxyB)
    expect(await outcome(b, write.writeId)).toMatchObject({ status: 'applied', record: { version: 3 } })
    expect(calls).toEqual([{ local: { title: 'y' }, server: { title: 'x', done: true } }])
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ r: { title: 'y', done: true } })
  })

  it('delete against update: manual keeps the tombstone as the conflict, resolve("local") brings the record back', async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { n: 0 } })
    await offline(proxyA, proxyB)
    await ca.delete('r')
    const write = await cb.put('r', { n: 2 })
    await reconnect(a, proxyA, b, proxyB)
    expect(await outcome(b, write.writeId)).toMatchObject({ status: 'conflict', resolution: 'manual', server: { version: 2, deleted: true } })
    expect(await cb.get('r')).toMatchObject({ data: { n: 2 }, deleted: false, conflict: { deleted: true } })
    const resolved = await cb.resolve('r', 'local')
    expect(await outcome(b, resolved!.writeId)).toMatchObject({ status: 'applied', record: { version: 3, deleted: false } })
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ r: { n: 2 } })
  })

  it("update against delete: under 'server-wins' the deleting device gets the record back", async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { n: 0 }, s: { n: 0 } }, 'server-wins')
    await offline(proxyA, proxyB)
    await ca.put('r', { n: 1 })
    const write = await cb.delete('r')
    await reconnect(a, proxyA, b, proxyB)
    expect(await outcome(b, write.writeId)).toMatchObject({ status: 'conflict', resolution: 'server-wins', server: { version: 2, data: { n: 1 } } })
    expect(await cb.get('r')).toMatchObject({ data: { n: 1 }, deleted: false })
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ r: { n: 1 }, s: { n: 0 } })
  })

  it("delete against update: under 'client-wins' the delete is pushed on top of the other device's version", async () => {
    const { a, b, ca, cb, api, collectionId, proxyA, proxyB } = await twoDevices({ r: { n: 0 }, s: { n: 0 } }, 'client-wins')
    await offline(proxyA, proxyB)
    await ca.put('r', { n: 1 })
    const write = await cb.delete('r')
    await reconnect(a, proxyA, b, proxyB)
    expect(await outcome(b, write.writeId)).toMatchObject({ status: 'applied', record: { version: 3, deleted: true } })
    expect(await expectConverged(api, collectionId, a, b)).toEqual({ s: { n: 0 } })
    expect(await ca.get('r')).toMatchObject({ deleted: true, serverVersion: 3 })
  })
})
