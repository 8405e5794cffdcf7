import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, RoostError } from '../../src/client/index.js'
import type { Overrides } from '../../src/app.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId, session, synced, until } from './helpers.js'

/**
 * The calls of roost.server for operations and housekeeping: breaking a
 * lock ($break), a collection's open batches, server-stats and the NDJSON
 * export.
 */

const operator = `operator-${randomUUID()}@example.com`
const withOperators: Overrides = { operators: [operator] }

describeBackends('roost.server, with the dashboard’s server routes', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend, withOperators)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  async function user(email?: string) {
    const credentials = email === undefined ? await account(server.url) : await accountWith(email)
    const roost = clients.create({ url: server.url, auth: credentials, store: memoryStore() })
    return { ...credentials, roost, api: await session(server.url, credentials) }
  }

  async function accountWith(email: string) {
    const password = 'a long enough password'
    const response = await fetch(`${server.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    const body = (await response.json()) as { id: string }
    return { email, password, userId: body.id }
  }

  async function roostError(promise: Promise<unknown>, code: number): Promise<RoostError> {
    const error = await promise.then(
      () => {
        throw new Error(`expected a ${code}, but it succeeded`)
      },
      (caught: unknown) => caught
    )
    expect(error).toBeInstanceOf(RoostError)
    expect(error).toMatchObject({ code })
    return error as RoostError
  }

  /** Alice's collection with Bob as a writer. */
  async function shared() {
    const alice = await user()
    const bob = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId() })
    await bob.roost.server.acceptInvitation((await alice.roost.server.invite(id, bob.email, 'writer')).id)
    return { alice, bob, id }
  }

  it('breakLock: an owner breaks another member’s lock; the old token’s writes are refused; members hear it; non-owners get a 403', async () => {
    const { alice, bob, id } = await shared()
    const bobs = bob.roost.collection(id, { create: false })
    await synced(bob.roost)
    const lock = await bobs.lock({ ttlSeconds: 60 })
    const holder = (await bob.roost.store.getMeta<string>('clientId'))!
    const events: string[] = []
    alice.roost.collection(id, { create: false })
    await synced(alice.roost)
    await until(() => alice.roost.status.get().live, 'Alice’s socket to subscribe')
    alice.roost.onCollectionEvent((event) => events.push(`${event.type}:${event.collectionId}`))

    const seen = await alice.roost.server.locks(id)
    expect(seen).toEqual([expect.objectContaining({ holder, userId: bob.userId, mode: 'exclusive', token: lock.token })])

    // Only owners break locks.
    await roostError(bob.roost.server.breakLock(id, 'someone-else'), 403)

    await alice.roost.server.breakLock(id, holder)
    expect(await alice.roost.server.locks(id)).toEqual([])
    await until(() => events.includes(`lock:${id}`), 'the lock event of the break')
    await until(() => lock.lost, 'Bob’s client to learn its lock is gone')

    // The old fencing token is refused, as any stale token is.
    const write = await bob.api('POST', `collections/${id}/records`, { id: 'late', data: { by: 'bob' } }, { 'lock-token': String(lock.token) })
    expect(write.status).toBe(423)
  })

  it('openBatches: the open batches with operations on the collection; owners see all, other members their own', async () => {
    const { alice, bob, id } = await shared()
    const open = async (who: typeof alice, batchId: string, count: number) => {
      expect((await who.api('POST', 'batches', { id: batchId })).status).toBe(201)
      const operations = Array.from({ length: count }, (_, i) => ({ op: 'put', collectionId: id, id: `${batchId.slice(0, 8)}-${i}`, data: { i }, ifNotExists: true }))
      expect((await who.api('POST', 'batches', { id: batchId, operations }, { 'X-Service-Method': 'append' })).status).toBe(200)
    }
    const aliceBatch = randomUUID()
    const bobBatch = randomUUID()
    await open(alice, aliceBatch, 2)
    await open(bob, bobBatch, 3)
    // Open but empty, and open on another collection: not listed.
    expect((await alice.api('POST', 'batches', { id: randomUUID() })).status).toBe(201)

    const all = await alice.roost.server.openBatches(id)
    expect(all.map((batch) => [batch.id, batch.userId, batch.operationCount]).sort()).toEqual(
      [[aliceBatch, alice.userId, 2], [bobBatch, bob.userId, 3]].sort()
    )
    for (const batch of all) {
      expect(batch.bytes).toBeGreaterThan(0)
      expect(Date.parse(batch.expiresAt)).toBeGreaterThan(Date.parse(batch.createdAt))
    }
    expect((await bob.roost.server.openBatches(id)).map((batch) => batch.id)).toEqual([bobBatch])
    const stranger = await user()
    await roostError(stranger.roost.server.openBatches(id), 404)
  })

  it('stats: the server’s counts for an operator; a 403 RoostError for anyone else', async () => {
    const ops = await user(operator)
    const { id } = await ops.roost.server.createCollection({ id: newId() })
    const notes = ops.roost.collection(id, { create: false })
    await notes.put('a', { text: 'x' })
    await notes.put('b', { text: 'y' })
    await synced(ops.roost)
    await notes.delete('b')
    await synced(ops.roost)
    const stats = await ops.roost.server.stats()
    expect(stats).toMatchObject({
      status: 'ok',
      version: expect.any(String),
      database: { backend: backend.name === 'postgres' ? 'postgresql' : backend.name },
      counts: { users: expect.any(Number), collections: expect.any(Number), records: expect.any(Number), tombstones: expect.any(Number), bytes: expect.any(Number) },
      realtime: { connections: expect.any(Number), authenticated: expect.any(Number) }
    })
    expect(stats.counts.records).toBeGreaterThanOrEqual(1)
    expect(stats.counts.tombstones).toBeGreaterThanOrEqual(1)
    expect(JSON.stringify(stats)).not.toContain('"x"')

    const other = await user()
    const refused = await roostError(other.roost.server.stats(), 403)
    expect(refused).toMatchObject({ name: 'Forbidden', message: 'operators only' })
  })

  it('exportData: one collection or all of them, streamed NDJSON with the header line first; unknown collections are 404s', async () => {
    const alice = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId(), name: 'Export me' })
    const other = await alice.roost.server.createCollection({ id: newId() })
    const notes = alice.roost.collection(id, { create: false })
    await notes.put('a', { text: 'one' })
    await notes.put('b', { text: 'two' })
    await synced(alice.roost)
    await notes.delete('b')
    await alice.roost.collection(other.id, { create: false }).put('c', { text: 'three' })
    await synced(alice.roost)

    const read = async (body: ReadableStream<Uint8Array>) => (await new Response(body).text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    const one = await alice.roost.server.exportData(id)
    expect(one.filename).toMatch(new RegExp(`^roost-${id}-\\d{8}\\.ndjson$`))
    const [header, ...lines] = await read(one.body)
    expect(header).toMatchObject({ format: 'roost-export', version: 1, collections: [{ id, name: 'Export me', role: 'owner', encrypted: false, ownerId: alice.userId }] })
    // The last line for an id wins.
    const last = new Map(lines.map((line) => [line.id as string, line]))
    expect(last.get('a')).toMatchObject({ collectionId: id, data: { text: 'one' }, deleted: false })
    expect(last.get('b')).toMatchObject({ collectionId: id, data: null, deleted: true })

    const all = await alice.roost.server.exportData()
    expect(all.filename).toMatch(/^roost-all-\d{8}\.ndjson$/)
    const [allHeader, ...allLines] = await read(all.body)
    expect((allHeader!.collections as Array<{ id: string }>).map((c) => c.id).sort()).toEqual([id, other.id].sort())
    expect(allLines.some((line) => line.collectionId === other.id && line.id === 'c')).toBe(true)

    await roostError(alice.roost.server.exportData(newId()), 404)
    const stranger = await user()
    await roostError(stranger.roost.server.exportData(id), 404)
  })
})
