import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type RoostError } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId, outcome, serverData, session, synced, until, within } from './helpers.js'
import { TestProxy } from './proxy.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * collection.lock(): an exclusive lease with a fencing token that the
 * client's writes carry while it is held, renewed on a timer, released
 * once the writes under it are pushed; a lease lost meanwhile (released
 * by another session, or expired while renewals could not get through) is
 * reported, and the writes still carrying its token end rejected (423).
 */
describeBackends('client locks', (backend) => {
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

  async function setup() {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    const proxy = await new TestProxy(server.url).start()
    proxies.push(proxy)
    const a = clients.create({ url: proxy.url, auth: user, store: memoryStore() })
    const ca = a.collection(collectionId)
    await synced(a)
    // The client's holder id, made at its first lock.
    const holderId = async () => (await a.store.getMeta<string>('clientId'))!
    const leases = async () => (await api('GET', `collections/${collectionId}/locks`)).body as Array<{ holder: string; token: number; mode: string }>
    return { user, api, collectionId, proxy, a, ca, holderId, leases }
  }

  it('writes under the lock carry its token, others are refused (423) meanwhile; the lease is renewed; release() pushes the writes first', async () => {
    const { user, api, collectionId, proxy, a, ca, holderId, leases } = await setup()
    const b = clients.create({ url: server.url, auth: user, store: memoryStore() })
    const cb = b.collection(collectionId)
    await synced(b)
    const lock = await ca.lock({ ttlSeconds: 2 })
    expect(lock).toMatchObject({ collectionId, mode: 'exclusive', lost: false })
    expect(lock.token).toBeGreaterThan(0)
    const holder = await holderId()
    expect(await leases()).toEqual([expect.objectContaining({ holder, token: lock.token, mode: 'exclusive' })])

    const underLock = await ca.put('a1', { by: 'a' })
    expect(await outcome(a, underLock.writeId)).toMatchObject({ status: 'applied' })
    // Another device of the same user, without the token: refused while the lease runs, and kept pending (not rejected).
    const blocked = await cb.put('b1', { by: 'b' })
    await until(() => b.status.get().error?.code === 423, 'a 423 in the other client status')
    expect(b.status.get()).toMatchObject({ pending: 1, rejected: 0 })
    expect(await serverData(api, collectionId)).toEqual({ a1: { by: 'a' } })

    // Renewed: well past its 2 seconds, the same lease is still held.
    await sleep(3500)
    expect(lock.lost).toBe(false)
    expect(await leases()).toEqual([expect.objectContaining({ holder, token: lock.token })])

    // A write the server has not seen yet: release() waits for it to be pushed under the lease.
    proxy.down()
    const last = await ca.put('a2', { by: 'a', last: true })
    expect((await a.store.listOutbox()).find((entry) => entry.id === last.writeId)?.lockToken).toBe(lock.token)
    let released = false
    const releasing = lock.release().then(() => (released = true))
    await sleep(300)
    expect(released).toBe(false)
    expect(await leases()).toHaveLength(1)
    proxy.up()
    await within(releasing, 'release()')
    // Applied, so it went out with a live token, before the release.
    expect(await outcome(a, last.writeId)).toMatchObject({ status: 'applied' })
    expect(await leases()).toEqual([])
    // Now the other device's write goes through.
    expect(await outcome(b, blocked.writeId)).toMatchObject({ status: 'applied' })
    await synced(a)
    expect(await serverData(api, collectionId)).toEqual({ a1: { by: 'a' }, a2: { by: 'a', last: true }, b1: { by: 'b' } })
    // Writes after the release carry no token.
    const after = await ca.put('a3', { by: 'a' })
    expect((await a.store.listOutbox()).find((entry) => entry.id === after.writeId)?.lockToken ?? null).toBeNull()
    expect(await outcome(a, after.writeId)).toMatchObject({ status: 'applied' })
  })

  it('a lease released by another session of the same user is reported lost, and the writes still carrying its token are rejected', async () => {
    const { api, collectionId, proxy, a, ca, holderId, leases } = await setup()
    await ca.put('kept', { v: 1 })
    await synced(a)
    const lock = await ca.lock({ ttlSeconds: 6 })
    const holder = await holderId()
    const lost = new Promise<RoostError | null>((resolve) => lock.onLost(resolve))
    proxy.down()
    const fenced = await ca.put('kept', { v: 2 })
    const fencedNew = await ca.put('new', { v: 1 })
    expect((await api('DELETE', `collections/${collectionId}/locks/${holder}`)).body).toMatchObject({ released: true })
    expect(await leases()).toEqual([])
    proxy.up()
    for (const write of [fenced, fencedNew]) expect(await outcome(a, write.writeId)).toMatchObject({ status: 'rejected', error: { code: 423 } })
    await within(lost, 'onLost', 15_000)
    expect(lock.lost).toBe(true)
    // Back to the server's state.
    expect(await ca.get('kept')).toMatchObject({ data: { v: 1 }, pending: false })
    expect(await ca.get('new')).toBeUndefined()
    expect(await serverData(api, collectionId)).toEqual({ kept: { v: 1 } })
    await until(() => a.status.get().rejected === 2, 'two rejected writes in the status')
    // Writes after the loss carry no token and go through.
    const after = await ca.put('after', { v: 1 })
    expect(await outcome(a, after.writeId)).toMatchObject({ status: 'applied' })
  })

  it('a lease that expires while renewals cannot get through is reported lost; its writes are rejected once back online', async () => {
    const { api, collectionId, proxy, a, ca, leases } = await setup()
    const lock = await ca.lock({ ttlSeconds: 2 })
    const lost = new Promise<RoostError | null>((resolve) => lock.onLost(resolve))
    proxy.down()
    const fenced = await ca.put('x', { v: 1 })
    await within(lost, 'onLost', 10_000)
    expect(lock.lost).toBe(true)
    await until(async () => (await leases()).length === 0, 'the server to end the lease', 5000)
    proxy.up()
    expect(await outcome(a, fenced.writeId)).toMatchObject({ status: 'rejected', error: { code: 423 } })
    expect(await ca.get('x')).toBeUndefined()
    expect(await serverData(api, collectionId)).toEqual({})
  })

  it('online, a lease released by another session is reported lost at once (the lock event), long before the next renewal', async () => {
    const { api, collectionId, ca, holderId } = await setup()
    const lock = await ca.lock({ ttlSeconds: 60 })
    const lost = new Promise<RoostError | null>((resolve) => lock.onLost(resolve))
    expect((await api('DELETE', `collections/${collectionId}/locks/${await holderId()}`)).body).toMatchObject({ released: true })
    expect(await within(lost, 'onLost', 5000)).toBeNull()
    expect(lock.lost).toBe(true)
  })
})
