import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locksClient, recordsClient, type ClientApplication, type Lock, type LockEvent } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { device, eventually, failure, jsonHeaders, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, TestClock, type TestServer } from '../helpers/server.js'

const newCollection = async (client: ClientApplication) => (await client.service('collections').create({})).id

describeBackends('locks', (backend) => {
  let server: TestServer
  const clock = new TestClock()
  const opened: Array<{ close(): void }> = []
  const keep = <T extends { close(): void }>(connection: T): T => {
    opened.push(connection)
    return connection
  }

  beforeAll(async () => {
    server = await startServer(backend, { locks: { expiryCheckMilliseconds: 50 } }, { clock: clock.now })
  })
  afterAll(async () => {
    for (const connection of opened) connection.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      beforeAll(async () => {
        owner = keep(await signedIn(server.url, transport))
      })

      it('acquire → 423 for another holder, with who holds it and until when → same holder again → renew → release → free', async () => {
        const collectionId = await newCollection(owner.client)
        const locks = locksClient(owner.client, collectionId)
        const lock = await locks.create({ holder: 'laptop', ttlSeconds: 30 })
        expect(lock).toMatchObject({ collectionId, holder: 'laptop', userId: owner.user.id, mode: 'exclusive' })
        expect(lock.token).toBeGreaterThan(0)
        expect(Date.parse(lock.expiresAt) - clock.now().getTime()).toBe(30_000)

        const refused = await failure(locks.create({ holder: 'phone' }))
        expect(refused).toMatchObject({ code: 423, name: 'Locked' })
        expect(refused.data.locks).toEqual([lock])

        // A lost answer is retried: the same lock, the same token, a fresh lease.
        clock.advance(10)
        const again = await locks.create({ holder: 'laptop', ttlSeconds: 30 })
        expect(again).toEqual({ ...lock, expiresAt: new Date(clock.now().getTime() + 30_000).toISOString() })

        const renewed = await locks.patch('laptop', { ttlSeconds: 120 })
        expect(renewed).toEqual({ ...lock, expiresAt: new Date(clock.now().getTime() + 120_000).toISOString() })
        expect(await locks.find()).toEqual([{ ...renewed, email: owner.email }])
        expect(await locks.get('laptop')).toEqual(renewed)

        expect(await locks.remove('laptop')).toEqual({ collectionId, holder: 'laptop', released: true })
        // Releasing again is harmless.
        expect(await locks.remove('laptop')).toEqual({ collectionId, holder: 'laptop', released: false })
        expect(await locks.find()).toEqual([])
        expect((await failure(locks.get('laptop'))).code).toBe(404)
        expect((await failure(locks.patch('laptop', {}))).code).toBe(404)

        const next = await locks.create({ holder: 'phone' })
        expect(next.token).toBeGreaterThan(lock.token)
      })

      it('a lease ends by itself at its expiry; renewing it then is 404 and another holder gets it with a greater token', async () => {
        const collectionId = await newCollection(owner.client)
        const locks = locksClient(owner.client, collectionId)
        const first = await locks.create({ holder: 'laptop', ttlSeconds: 5 })
        clock.advance(6)
        expect(await locks.find()).toEqual([])
        expect((await failure(locks.patch('laptop', {}))).code).toBe(404)
        const second = await locks.create({ holder: 'phone' })
        expect(second.token).toBeGreaterThan(first.token)
      })

      it('lease lengths are capped by locks.maxTtlSeconds', async () => {
        const collectionId = await newCollection(owner.client)
        const lock = await locksClient(owner.client, collectionId).create({ holder: 'laptop', ttlSeconds: 10_000_000 })
        const { maxTtlSeconds } = server.app.get('locks')
        expect(Date.parse(lock.expiresAt) - clock.now().getTime()).toBe(maxTtlSeconds * 1000)
      })

      it('under an exclusive lock only the holder writes, with its token; others (and tokenless calls) get 423 and change nothing', async () => {
        const collectionId = await newCollection(owner.client)
        const records = recordsClient(owner.client, collectionId)
        const created = await records.create({ id: 'r1', data: { n: 0 } })
        const lock = await locksClient(owner.client, collectionId).create({ holder: 'laptop' })

        expect((await failure(records.update('r1', { data: { n: 1 }, version: created.version }))).code).toBe(423)
        expect((await failure(records.create({ id: 'r2', data: 1 })))).toMatchObject({ code: 423, data: { locks: [lock] } })
        expect((await failure(records.create([{ id: 'r3', data: 1 }])))).toMatchObject({ code: 423 })
        expect((await failure(records.remove('r1', { query: { version: 1 } })))).toMatchObject({ code: 423 })
        expect((await failure(records.update('r1', { data: { n: 1 }, version: 1 }, { query: { $lockToken: lock.token + 1 } })))).toMatchObject({ code: 423 })
        expect(await records.get('r1')).toEqual(created)

        const updated = await records.update('r1', { data: { n: 1 }, version: 1 }, { query: { $lockToken: lock.token } })
        expect(updated.version).toBe(2)
        await records.create({ id: 'r2', data: 2 }, { query: { $lockToken: lock.token } })
      })

      it('fencing: after its lease expired and another holder took over, the first holder’s writes and batch commit are refused', async () => {
        const collectionId = await newCollection(owner.client)
        const records = recordsClient(owner.client, collectionId)
        await records.create({ id: 'r1', data: 'original' })
        const locks = locksClient(owner.client, collectionId)
        const old = await locks.create({ holder: 'laptop', ttlSeconds: 5 })

        // The laptop stages a batch while it holds the lease…
        const batchId = `fenced-${transport}-${backend.name}`
        await owner.client.service('batches').create({ id: batchId })
        await owner.client.service('batches').append({ id: batchId, operations: [{ op: 'put', collectionId, id: 'r1', data: 'laptop', version: 1 }] })
        // …goes offline past its lease; the phone takes over and writes.
        clock.advance(6)
        const current = await locks.create({ holder: 'phone' })
        expect(current.token).toBeGreaterThan(old.token)
        await records.update('r1', { data: 'phone', version: 1 }, { query: { $lockToken: current.token } })

        // Back online, the laptop's stale token is refused everywhere.
        expect(await failure(records.update('r1', { data: 'laptop', version: 2 }, { query: { $lockToken: old.token } }))).toMatchObject({ code: 423 })
        expect(await failure(owner.client.service('batches').commit({ id: batchId, lockTokens: { [collectionId]: old.token } }))).toMatchObject({
          code: 423
        })
        expect(await failure(owner.client.service('batches').commit({ id: batchId }))).toMatchObject({ code: 423 })
        expect((await records.get('r1')).data).toBe('phone')

        // Even once the phone releases, the old token stays refused.
        await locks.remove('phone')
        expect(await failure(records.update('r1', { data: 'laptop', version: 2 }, { query: { $lockToken: old.token } }))).toMatchObject({ code: 423 })
      })

      it('shared leases go together, keep exclusive ones out (and the other way round), and do not block writes', async () => {
        const collectionId = await newCollection(owner.client)
        const locks = locksClient(owner.client, collectionId)
        await locks.create({ holder: 'reader-1', mode: 'shared' })
        await locks.create({ holder: 'reader-2', mode: 'shared' })
        const refused = await failure(locks.create({ holder: 'writer' }))
        expect(refused.code).toBe(423)
        expect(refused.data.locks.map((lock: Lock) => lock.holder).sort()).toEqual(['reader-1', 'reader-2'])
        await recordsClient(owner.client, collectionId).create({ id: 'while-shared', data: 1 })
        await locks.remove('reader-1')
        await locks.remove('reader-2')
        await locks.create({ holder: 'writer' })
        expect((await failure(locks.create({ holder: 'reader-3', mode: 'shared' }))).code).toBe(423)
      })

      it('waitSeconds waits for the holder to release, then grants', async () => {
        const collectionId = await newCollection(owner.client)
        const locks = locksClient(owner.client, collectionId)
        const phone = keep(await device(server.url, transport, owner))
        const first = await locks.create({ holder: 'laptop' })
        const waiting = locksClient(phone.client, collectionId).create({ holder: 'phone', waitSeconds: 10 })
        await new Promise((resolve) => setTimeout(resolve, 100))
        await locks.remove('laptop')
        const granted = await waiting
        expect(granted).toMatchObject({ holder: 'phone' })
        expect(granted.token).toBeGreaterThan(first.token)
      })

      it('refuses bad input with 400 and locks nothing', async () => {
        const collectionId = await newCollection(owner.client)
        const locks = locksClient(owner.client, collectionId)
        for (const bad of [{}, { holder: '' }, { holder: 'a/b' }, { holder: 'x', mode: 'write' }, { holder: 'x', ttlSeconds: 0 }, { holder: 'x', extra: 1 }]) {
          expect((await failure(locks.create(bad as never))).code).toBe(400)
        }
        expect(await locks.find()).toEqual([])
        expect((await failure(recordsClient(owner.client, collectionId).create({ data: 1 }, { query: { $lockToken: 'abc' as never } }))).code).toBe(400)
      })

      it('strangers cannot see or take locks of a collection they cannot read: 404', async () => {
        const collectionId = await newCollection(owner.client)
        await locksClient(owner.client, collectionId).create({ holder: 'laptop' })
        const stranger = keep(await signedIn(server.url, transport))
        expect((await failure(locksClient(stranger.client, collectionId).find())).code).toBe(404)
        expect((await failure(locksClient(stranger.client, collectionId).create({ holder: 'x' }))).code).toBe(404)
        expect((await failure(locksClient(stranger.client, collectionId).remove('laptop'))).code).toBe(404)
        expect(await locksClient(owner.client, collectionId).find()).toHaveLength(1)
      })
    })
  }

  it('20 clients racing for one lock: exactly one holder at any moment, tokens increasing in grant order', async () => {
    const owner = keep(await signedIn(server.url, 'socketio'))
    const collectionId = await newCollection(owner.client)
    const clients = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => keep(await device(server.url, index % 2 === 0 ? 'socketio' : 'rest', owner)))
    )
    const held: Array<{ holder: string; token: number; from: number; to: number }> = []
    await Promise.all(
      clients.map(async ({ client }, index) => {
        const locks = locksClient(client, collectionId)
        const holder = `device-${index}`
        const lock = await locks.create({ holder, waitSeconds: 30, ttlSeconds: 60 })
        const from = performance.now()
        // Hold it for a moment, writing under it.
        await recordsClient(client, collectionId).create({ id: holder, data: index }, { query: { $lockToken: lock.token } })
        await new Promise((resolve) => setTimeout(resolve, 5))
        const to = performance.now()
        held.push({ holder, token: lock.token, from, to })
        await locks.remove(holder)
      })
    )
    expect(held).toHaveLength(20)
    const byGrant = [...held].sort((a, b) => a.from - b.from)
    for (let index = 1; index < byGrant.length; index++) {
      // Each hold (as its client saw it: inside the real lease) ends before the next begins.
      expect(byGrant[index].from).toBeGreaterThanOrEqual(byGrant[index - 1].to)
      expect(byGrant[index].token).toBeGreaterThan(byGrant[index - 1].token)
    }
    expect((await recordsClient(owner.client, collectionId).find({ query: { $limit: 100 } })).total).toBe(20)
  })

  it('realtime: acquired, released and expired reach every socket of the owner (subscribed or not), and no stranger', async () => {
    const owner = keep(await signedIn(server.url, 'socketio'))
    const otherDevice = keep(await device(server.url, 'socketio', owner))
    const stranger = keep(await signedIn(server.url, 'socketio'))
    const heard = { owner: [] as LockEvent[], otherDevice: [] as LockEvent[], stranger: [] as LockEvent[] }
    owner.client.service('collections').on('lock', (event: LockEvent) => heard.owner.push(event))
    otherDevice.client.service('collections').on('lock', (event: LockEvent) => heard.otherDevice.push(event))
    stranger.client.service('collections').on('lock', (event: LockEvent) => heard.stranger.push(event))
    const collectionId = await newCollection(owner.client)
    const locks = locksClient(owner.client, collectionId)

    const first = await locks.create({ holder: 'laptop', ttlSeconds: 5 })
    await locks.create({ holder: 'laptop', ttlSeconds: 5 }) // same holder again: no event
    await locks.remove('laptop')
    const second = await locks.create({ holder: 'phone', ttlSeconds: 5 })
    clock.advance(6)
    await eventually(() => heard.otherDevice.length >= 4, 'the expired event')
    const expected = [
      { collectionId, type: 'acquired', lock: first },
      { collectionId, type: 'released', lock: first },
      { collectionId, type: 'acquired', lock: second },
      { collectionId, type: 'expired', lock: second }
    ]
    expect(heard.otherDevice).toEqual(expected)
    await eventually(() => heard.owner.length >= 4, 'the owner’s events')
    expect(heard.owner).toEqual(expected)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(heard.stranger).toEqual([])
  })

  it('REST: the Lock-Token header carries the token', async () => {
    const owner = keep(await signedIn(server.url, 'rest'))
    const collectionId = await newCollection(owner.client)
    const lock = await locksClient(owner.client, collectionId).create({ holder: 'curl' })
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/collections/${collectionId}/records`, { method: 'POST', headers, body: JSON.stringify({ data: 1 }) })
    const headers = await jsonHeaders(owner)
    expect((await post(headers)).status).toBe(423)
    expect((await post({ ...headers, 'lock-token': String(lock.token + 1) })).status).toBe(423)
    expect((await post({ ...headers, 'lock-token': 'x' })).status).toBe(400)
    expect((await post({ ...headers, 'lock-token': String(lock.token) })).status).toBe(201)
  })
}, { plainPath: true })
