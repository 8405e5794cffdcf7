import { randomBytes } from 'node:crypto'
import { io, type Socket } from 'socket.io-client'
import knex from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { knexConfig } from '../src/storage/knex/connection.js'
import { describeSqlBackends } from './helpers/backends.js'
import { newEmail } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

type Line = Record<string, unknown>

/**
 * Structured logs (src/logger.ts, src/request-log.ts): a real server logging
 * at debug into a stream the test reads. Calls are made one at a time, so
 * every line written between a call's start and its answer belongs to it,
 * and each of those lines must carry that call's request id. Secrets and
 * record data sent in those calls must appear nowhere in the logs.
 */
describeSqlBackends('Structured logs with a request id', (backend) => {
  let server: TestServer
  const written: string[] = []
  const sockets: Socket[] = []
  const secret = (what: string) => `${what}-${randomBytes(8).toString('hex')}`
  const PASSWORD = secret('pw')
  const WRONG_PASSWORD = secret('wrongpw')
  const RECORD_TEXT = secret('record-data')
  const SOCKET_RECORD_TEXT = secret('socket-record-data')
  const PROBE_TEXT = secret('probe-data')
  const email = newEmail()
  let token = ''
  let collectionId = ''

  beforeAll(async () => {
    server = await startServer(backend, { logLevel: 'debug' }, { logDestination: { write: (line: string) => void written.push(line) } })
    // A service of the test's own that logs through the app's logger (made at start, not per request) and then fails with an error carrying secrets.
    // (Not one of Roost's typed services: registered through the untyped signature.)
    ;(server.app as unknown as { use(path: string, service: object): void }).use('log-probe', {
      async create(data: unknown) {
        server.app.get('logger').child({ component: 'probe' }).info('probe ran')
        throw Object.assign(new Error('probe failed'), {
          data,
          password: PASSWORD,
          params: { headers: { authorization: `Bearer ${token}` } },
          nested: { deeper: { accessToken: token, record: { data: { text: PROBE_TEXT } } } }
        })
      }
    })
  })
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect()
    await server?.close()
  })

  const lines = (): Line[] => written.map((line) => JSON.parse(line) as Line)

  /** Runs one REST call; returns its response, its request id header and the lines written while it ran. */
  async function rest(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const from = written.length
    const response = await fetch(`${server.url}/${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    await response.text()
    const requestId = response.headers.get('x-request-id') ?? ''
    return { status: response.status, requestId, lines: lines().slice(from) }
  }

  function expectOwnLines(requestId: string, own: Line[], status: number, route: string) {
    expect(requestId).not.toBe('')
    expect(own.length).toBeGreaterThan(0)
    for (const line of own) expect(line.requestId, JSON.stringify(line)).toBe(requestId)
    const access = own.filter((line) => line.msg === 'request')
    expect(access).toHaveLength(1)
    expect(access[0]).toMatchObject({ route, status })
    expect(typeof access[0].durationMs).toBe('number')
  }

  it('gives every REST request an id, echoed in X-Request-Id, on every line it writes (a sign-up with a password)', async () => {
    const call = await rest('POST', 'users', { email, password: PASSWORD })
    expect(call.status).toBe(201)
    expect(call.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expectOwnLines(call.requestId, call.lines, 201, 'users')
  })

  it('keeps a sane X-Request-Id from the client, on a failing sign-in too, and replaces one that is not', async () => {
    const failed = await rest('POST', 'authentication', { strategy: 'local', email, password: WRONG_PASSWORD }, { 'X-Request-Id': 'lb-7f3a.42:x' })
    expect(failed.status).toBe(401)
    expect(failed.requestId).toBe('lb-7f3a.42:x')
    expectOwnLines('lb-7f3a.42:x', failed.lines, 401, 'authentication')

    for (const bad of ['has spaces in it', 'x'.repeat(129), 'quote"d']) {
      const call = await rest('POST', 'authentication', { strategy: 'local', email, password: WRONG_PASSWORD }, { 'X-Request-Id': bad })
      expect(call.requestId).toMatch(/^[0-9a-f-]{36}$/)
      expectOwnLines(call.requestId, call.lines, 401, 'authentication')
    }

    const signedIn = await rest('POST', 'authentication', { strategy: 'local', email, password: PASSWORD })
    expect(signedIn.status).toBe(201)
    expectOwnLines(signedIn.requestId, signedIn.lines, 201, 'authentication')
    const answer = await fetch(`${server.url}/authentication`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ strategy: 'local', email, password: PASSWORD })
    })
    token = ((await answer.json()) as { accessToken: string }).accessToken
    expect(token).not.toBe('')
  })

  it('logs the route pattern, not the ids, for a record write with a bearer token', async () => {
    const auth = { authorization: `Bearer ${token}` }
    const created = await rest('POST', 'collections', { name: 'logged' }, auth)
    expect(created.status).toBe(201)
    collectionId = ((await (await fetch(`${server.url}/collections`, { headers: auth })).json()) as { data: Array<{ id: string }> }).data[0].id
    const write = await rest('POST', `collections/${collectionId}/records`, { id: 'rec-1', data: { text: RECORD_TEXT } }, auth)
    expect(write.status).toBe(201)
    expectOwnLines(write.requestId, write.lines, 201, 'collections/:collectionId/records')
    const update = await rest('PUT', `collections/${collectionId}/records/rec-1`, { data: { text: `${RECORD_TEXT}-2` }, version: 1 }, auth)
    expect(update.status).toBe(200)
    expectOwnLines(update.requestId, update.lines, 200, 'collections/:collectionId/records')
    expect(JSON.stringify(update.lines)).not.toContain(collectionId)
    expect(JSON.stringify(write.lines)).not.toContain(collectionId)
  })

  it('gives an error the same header and keeps what it carries out of the logs', async () => {
    const probe = await rest('POST', 'log-probe', { text: PROBE_TEXT }, { authorization: `Bearer ${token}` })
    expect(probe.status).toBe(500)
    expectOwnLines(probe.requestId, probe.lines, 500, 'log-probe')
    // The probe's own line (a logger made at start) and the error line both carry the id.
    expect(probe.lines.some((line) => line.msg === 'probe ran' && line.component === 'probe')).toBe(true)
    const failure = probe.lines.find((line) => line.msg === 'service call failed')
    expect(failure).toBeDefined()
    expect(JSON.stringify(failure)).toContain('[Redacted]')

    const missing = await rest('GET', 'no-such-place')
    expect(missing.status).toBe(404)
    expectOwnLines(missing.requestId, missing.lines, 404, '/no-such-place')
  })

  it('gives every socket.io call an id of its own, with the connection id, on every line it writes', async () => {
    const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false })
    sockets.push(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    const call = async (...args: unknown[]) => {
      const from = written.length
      const outcome = await new Promise<{ error?: { code?: number } }>((resolve) =>
        socket.emit(...(args as [string]), (error: { code?: number } | null) => resolve(error ? { error } : {}))
      )
      return { ...outcome, lines: lines().slice(from) }
    }
    const socketLines = (own: Line[], status: number, route: string) => {
      expect(own.length).toBeGreaterThan(0)
      const requestId = own[0].requestId
      expect(typeof requestId).toBe('string')
      for (const line of own) expect(line, JSON.stringify(line)).toMatchObject({ requestId, connectionId: socket.id })
      const access = own.filter((line) => line.msg === 'socket call')
      expect(access).toHaveLength(1)
      expect(access[0]).toMatchObject({ route, status })
      return requestId as string
    }

    const wrong = await call('create', 'authentication', { strategy: 'local', email, password: WRONG_PASSWORD })
    expect(wrong.error?.code).toBe(401)
    const first = socketLines(wrong.lines, 401, 'authentication')

    const jwt = await call('create', 'authentication', { strategy: 'jwt', accessToken: token })
    expect(jwt.error).toBeUndefined()
    const second = socketLines(jwt.lines, 200, 'authentication')
    expect(second).not.toBe(first)

    const write = await call('create', `collections/${collectionId}/records`, { id: 'rec-2', data: { text: SOCKET_RECORD_TEXT } })
    expect(write.error).toBeUndefined()
    socketLines(write.lines, 200, 'collections/:collectionId/records')
  })

  it('keeps the values of a failed query (record data) out of its error message, which is what gets logged', async () => {
    const QUERY_VALUE = secret('query-value')
    const db = knex(knexConfig(server.database.databaseUrl, server.database.dataDir, { logger: server.app.get('logger') }).config)
    try {
      const error = await db.raw('insert into no_such_table (data) values (?)', [QUERY_VALUE]).then(() => undefined, (error: Error) => error)
      expect(error).toBeInstanceOf(Error)
      expect(error?.message).toMatch(/no_such_table/)
      expect(error?.message).not.toContain(QUERY_VALUE)
    } finally {
      await db.destroy()
    }
  })

  it('never writes a password, a token or record data', () => {
    const all = written.join('')
    expect(written.length).toBeGreaterThan(10)
    for (const [what, value] of Object.entries({ PASSWORD, WRONG_PASSWORD, token, RECORD_TEXT, SOCKET_RECORD_TEXT, PROBE_TEXT })) {
      expect(all.includes(value), `${what} appears in the logs`).toBe(false)
    }
    // Every line is one JSON object.
    for (const line of written) expect(() => JSON.parse(line)).not.toThrow()
  })
})
