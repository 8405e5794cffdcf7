import { afterAll, beforeAll, expect, it } from 'vitest'
import { recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
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
 */

const TOKEN = 'metrics-test-token-0123456789'

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

  it('keeps each app its own registry: the other server counted none of these calls', async () => {
    const response = await fetch(`${open.url}/health`)
    expect(response.status).toBe(200)
    expect(open.app.get('metricsRegistry').registry).not.toBe(server.app.get('metricsRegistry').registry)
    const text = await open.app.get('metricsRegistry').registry.metrics()
    expect(sample(text, 'roost_batch_commits_total')).toBe(0)
  })
})
