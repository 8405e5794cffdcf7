import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { locksClient, recordsClient } from '../../src/client.js'
import { describeBackends, describePostgres } from '../helpers/backends.js'
import { device, failure, jsonHeaders, signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * GET /metrics (README "Health and metrics", PROTOCOL.md): Prometheus text
 * from the app's own registry, counting real calls over both transports by
 * route pattern, method and status; only to the metrics token, and not at
 * all without one. No id (collection, record, user, batch) ever appears.
 *
 * What makes it fail: labels taken from the URL instead of the route pattern
 * (ids in labels, one series per record), the hook placed inside
 * hideInternalErrors (a 409 counted as whatever the storage threw), the
 * global registry (two servers in one process would share counts), or the
 * endpoint served without its token.
 *
 * Subscriptions, lock waits and the database pool: subscriptions counted by
 * hand on join and leave (one path forgotten, and the gauge drifts: here,
 * unsubscribing, disconnecting and the collection's deletion are each
 * checked), a wait counted when none happened or a timeout counted as
 * granted, a pool gauge that does not read the pool (a held connection
 * unseen).
 */

const TOKEN = 'metrics-test-token-0123456789'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** GET /metrics with the token. */
async function scrapeOf(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(response.status).toBe(200)
  return response.text()
}

/** Scrapes until `metric` is `wanted`; fails naming the last value after 5 s. */
async function scrapeUntil(url: string, what: string, read: (text: string) => number | undefined, wanted: (value: number | undefined) => boolean): Promise<string> {
  for (const deadline = Date.now() + 5000; ; ) {
    const text = await scrapeOf(url)
    const value = read(text)
    if (wanted(value)) return text
    if (Date.now() > deadline) throw new Error(`${what} stayed at ${value}`)
    await sleep(20)
  }
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`)
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const present = (match[2] ?? '').split(',').filter(Boolean)
    if (wanted.every((label) => present.includes(label)) && present.length === wanted.length) return Number(match[3])
  }
  return undefined
}

describeBackends('metrics', (backend) => {
  let server: TestServer
  let open: TestServer
  const clients: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend, { metrics: { token: TOKEN } })
    open = await startServer(backend)
  })
  afterAll(async () => {
    clients.forEach((client) => client.close())
    await server?.close()
    await open?.close()
  })

  const scrape = async (target = server): Promise<string> => {
    const response = await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return response.text()
  }

  it('is 404 when metrics.token is not set, and 401 without the right token', async () => {
    expect((await fetch(`${open.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404)
    const none = await fetch(`${server.url}/metrics`)
    expect(none.status).toBe(401)
    expect(await none.json()).toMatchObject({ name: 'NotAuthenticated', code: 401 })
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401)
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: TOKEN } })).status).toBe(401)
    // A user's token is not the metrics token.
    const user = await signedIn(server.url, 'rest')
    clients.push(user)
    expect((await fetch(`${server.url}/metrics`, { headers: await jsonHeaders(user) })).status).toBe(401)
  })

  it('counts calls on both transports by route pattern, method and status; changes, conflicts, batch commits and sockets; no ids', async () => {
    const owner: TestClient = await signedIn(server.url, 'rest')
    const socket = await device(server.url, 'socketio', owner)
    clients.push(owner, socket)
    const before = await scrape()
    expect(sample(before, 'roost_realtime_connections')).toBeGreaterThanOrEqual(1)

    const { id: collectionId } = await owner.client.service('collections').create({ name: 'metered' })
    const records = recordsClient(owner.client, collectionId)
    await records.create({ id: 'rec-alpha-secret', data: { note: 'private words' } })
    await recordsClient(socket.client, collectionId).create({ id: 'rec-beta-secret', data: {} })
    // The same id again: 409 over REST.
    expect((await failure(records.create({ id: 'rec-alpha-secret', data: {} }))).code).toBe(409)
    // A batch of two puts, committed over REST.
    const headers = await jsonHeaders(owner)
    const post = (method: string | undefined, body: unknown) =>
      fetch(`${server.url}/batches`, { method: 'POST', headers: { ...headers, ...(method ? { 'X-Service-Method': method } : {}) }, body: JSON.stringify(body) })
    expect((await post(undefined, { id: 'batch-gamma-secret' })).status).toBe(201)
    const operations = ['rec-delta-secret', 'rec-epsilon-secret'].map((id) => ({ op: 'put', collectionId, id, data: {}, ifNotExists: true }))
    expect((await post('append', { id: 'batch-gamma-secret', operations })).status).toBe(200)
    expect((await post('commit', { id: 'batch-gamma-secret' })).status).toBe(200)

    const text = await scrape()
    const service = 'collections/:collectionId/records'
    const delta = (name: string, labels: Record<string, string> = {}) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0)
    expect(delta('roost_requests_total', { service, method: 'create', status: '201' })).toBe(2)
    expect(delta('roost_requests_total', { service, method: 'create', status: '409' })).toBe(1)
    expect(delta('roost_requests_total', { service: 'collections', method: 'create', status: '201' })).toBe(1)
    expect(delta('roost_requests_total', { service: 'batches', method: 'commit', status: '200' })).toBe(1)
    expect(delta('roost_request_duration_seconds_count', { service, method: 'create' })).toBe(3)
    expect(delta('roost_conflicts_total', { service, method: 'create' })).toBe(1)
    expect(delta('roost_changes_written_total')).toBe(4)
    expect(delta('roost_batch_commits_total')).toBe(1)
    // prom-client's process metrics are there too.
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)

    // No id and no user data anywhere: not the collection's, the records', the batch's, the user's.
    for (const secret of [collectionId, 'rec-alpha-secret', 'rec-beta', 'batch-gamma', 'private words', owner.user.id, owner.email]) {
      expect(text).not.toContain(secret)
    }
    // Every service label is a route pattern: no segment but a name or a :parameter.
    const services = [...text.matchAll(/service="([^"]*)"/g)].map((match) => match[1])
    expect(services.length).toBeGreaterThan(0)
    for (const label of services) expect(label).toMatch(/^[a-z-]+(\/(:[A-Za-z]+|[a-z-]+))*$/)

    socket.close()
    for (const deadline = Date.now() + 5000; ; ) {
      const now = sample(await scrape(), 'roost_realtime_connections') ?? 0
      if (now === (sample(before, 'roost_realtime_connections') ?? 0) - 1) break
      if (Date.now() > deadline) throw new Error(`roost_realtime_connections stayed at ${now} after the socket closed`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }, 30_000)

  it('counts subscriptions, one per connection and collection, read when scraped: up on subscribe, down on unsubscribe, disconnect and deletion', async () => {
    const owner = await signedIn(server.url, 'rest')
    clients.push(owner)
    const [first, second] = await Promise.all([owner.client.service('collections').create({}), owner.client.service('collections').create({})])
    const subscriptions = () => scrape().then((text) => sample(text, 'roost_realtime_subscriptions'))
    const base = await subscriptions()
    expect(base).toBeGreaterThanOrEqual(0)
    const phone = await device(server.url, 'socketio', owner)
    const tablet = await device(server.url, 'socketio', owner)
    clients.push(phone, tablet)
    // A connection that subscribed to nothing is no subscription.
    expect(await subscriptions()).toBe(base)
    await phone.client.service('subscriptions').create({ collectionId: first.id })
    await phone.client.service('subscriptions').create({ collectionId: second.id })
    await tablet.client.service('subscriptions').create({ collectionId: first.id })
    expect(await subscriptions()).toBe(base! + 3)
    // Subscribing again to the same collection is not a new pair.
    await phone.client.service('subscriptions').create({ collectionId: first.id })
    expect(await subscriptions()).toBe(base! + 3)
    await phone.client.service('subscriptions').remove(second.id)
    expect(await subscriptions()).toBe(base! + 2)
    // The tablet disconnects: its subscription goes with it.
    tablet.close()
    await scrapeUntil(server.url, 'roost_realtime_subscriptions after a socket closed', (text) => sample(text, 'roost_realtime_subscriptions'), (value) => value === base! + 1)
    // The collection is deleted: its subscribers leave its channel.
    await owner.client.service('collections').remove(first.id)
    expect(await subscriptions()).toBe(base)
    // And the phone leaving afterwards takes nothing more off.
    phone.close()
    await scrapeUntil(server.url, 'roost_realtime_connections after the phone closed', (text) => sample(text, 'roost_realtime_connections'), (value) => value === 0)
    expect(await subscriptions()).toBe(base)
  })

  it('counts lock acquires that waited, by outcome (acquired, timed out, failed), with the time waited; an acquire refused at once is no wait', async () => {
    const owner = await signedIn(server.url, 'rest')
    const phone = await device(server.url, 'rest', owner)
    clients.push(owner, phone)
    const { id: collectionId } = await owner.client.service('collections').create({})
    const laptopLocks = locksClient(owner.client, collectionId)
    const phoneLocks = locksClient(phone.client, collectionId)
    const before = await scrape()
    await laptopLocks.create({ holder: 'laptop' })
    // No waitSeconds: refused at once, not counted.
    expect((await failure(phoneLocks.create({ holder: 'phone' }))).code).toBe(423)
    // Waits until the laptop releases, then granted.
    const waiting = phoneLocks.create({ holder: 'phone', waitSeconds: 10 })
    await sleep(200)
    await laptopLocks.remove('laptop')
    expect(await waiting).toMatchObject({ holder: 'phone' })
    // Waits a second for the phone's lock, which stays: refused.
    expect((await failure(laptopLocks.create({ holder: 'laptop', waitSeconds: 1 }))).code).toBe(423)
    // Waits, and the collection is deleted meanwhile: refused otherwise (404).
    const orphan = failure(laptopLocks.create({ holder: 'laptop', waitSeconds: 10 }))
    await sleep(100)
    await owner.client.service('collections').remove(collectionId)
    expect((await orphan).code).toBe(404)

    const text = await scrape()
    const delta = (name: string, labels: Record<string, string>) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0)
    expect(delta('roost_lock_waits_total', { outcome: 'acquired' })).toBe(1)
    expect(delta('roost_lock_waits_total', { outcome: 'timed_out' })).toBe(1)
    expect(delta('roost_lock_waits_total', { outcome: 'failed' })).toBe(1)
    expect(delta('roost_lock_wait_seconds_count', { outcome: 'acquired' })).toBe(1)
    expect(delta('roost_lock_wait_seconds_count', { outcome: 'timed_out' })).toBe(1)
    const waitedForRelease = delta('roost_lock_wait_seconds_sum', { outcome: 'acquired' })
    expect(waitedForRelease).toBeGreaterThan(0.15)
    expect(waitedForRelease).toBeLessThan(5)
    expect(delta('roost_lock_wait_seconds_sum', { outcome: 'timed_out' })).toBeGreaterThan(0.9)
    // The bucket a 1 s wait falls in: le="1" cannot hold it (it waited a little under or over), le="2.5" does.
    expect(delta('roost_lock_wait_seconds_bucket', { le: '2.5', outcome: 'timed_out' })).toBe(1)
  }, 15_000)

  it('shows the database pool: used, free and pending connections, within the most it opens', async () => {
    const text = await scrape()
    const max = sample(text, 'roost_db_pool_max_connections')
    // SQLite: one connection (better-sqlite3 is synchronous); PostgreSQL: knex's pool of 10 (storage/knex/connection.ts).
    if (backend.name === 'sqlite') expect(max).toBe(1)
    else if (backend.name === 'postgres') expect(max).toBe(10)
    else expect(max).toBeGreaterThan(0)
    const used = sample(text, 'roost_db_pool_connections', { state: 'used' })
    const free = sample(text, 'roost_db_pool_connections', { state: 'free' })
    const pending = sample(text, 'roost_db_pool_connections', { state: 'pending' })
    expect(used).toBeGreaterThanOrEqual(0)
    expect(free).toBeGreaterThanOrEqual(0)
    expect(pending).toBeGreaterThanOrEqual(0)
    expect(used! + free!).toBeLessThanOrEqual(max!)
    // The server has answered calls: it has a connection open.
    expect(used! + free!).toBeGreaterThanOrEqual(1)
  })

  it('keeps each app its own registry: the other server counted none of these calls', async () => {
    const response = await fetch(`${open.url}/health`)
    expect(response.status).toBe(200)
    expect(open.app.get('metricsRegistry').registry).not.toBe(server.app.get('metricsRegistry').registry)
    const text = await open.app.get('metricsRegistry').registry.metrics()
    expect(sample(text, 'roost_batch_commits_total')).toBe(0)
  })
})

/**
 * A write blocked on a row lock holds its pooled connection: the pool gauges
 * show it used while it waits, and free again after. (On SQLite a
 * transaction runs whole within one turn of the event loop, so no scrape
 * can ever see its one connection in use: there the gauges are checked for
 * their bounds above.)
 */
describePostgres('metrics: a connection held by a blocked write', (backend) => {
  let server: TestServer
  let holder: pg.Client | undefined
  const clients: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend, { metrics: { token: TOKEN } })
  })
  afterAll(async () => {
    clients.forEach((client) => client.close())
    await holder?.end()
    await server?.close()
  })

  it('shows the connection used while the write waits, and free once it is done', async () => {
    const owner = await signedIn(server.url, 'rest')
    clients.push(owner)
    const { id: collectionId } = await owner.client.service('collections').create({})
    const used = (text: string) => sample(text, 'roost_db_pool_connections', { state: 'used' })
    await scrapeUntil(server.url, 'used connections at rest', used, (value) => value === 0)

    // Another session takes the collection's row: the server's write (which takes it first) waits on it.
    holder = new pg.Client({ connectionString: server.database.databaseUrl })
    await holder.connect()
    await holder.query('BEGIN')
    await holder.query('SELECT id FROM collections WHERE id = $1 FOR UPDATE', [collectionId])
    const write = recordsClient(owner.client, collectionId).create({ id: 'held', data: {} })
    const held = await scrapeUntil(server.url, 'used connections while a write waits', used, (value) => value !== undefined && value >= 1)
    expect(used(held)).toBeLessThanOrEqual(sample(held, 'roost_db_pool_max_connections')!)

    await holder.query('COMMIT')
    expect(await write).toMatchObject({ id: 'held' })
    await scrapeUntil(server.url, 'used connections after the write', used, (value) => value === 0)
  })
})
