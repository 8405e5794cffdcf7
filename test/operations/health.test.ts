import { connect as connectTcp, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { listen } from '../../src/listen.js'
import { shutDown } from '../../src/shutdown.js'
import { describeBackends, describePostgres, sqlite, type TestDatabase } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * /health and /ready (README "Health and metrics", PROTOCOL.md "Health,
 * readiness and metrics"): answered without authentication, before the page;
 * /ready asks the database and turns 503 (with Retry-After) when it does
 * not answer, and while the server shuts down.
 *
 * What makes it fail: /ready answering from a flag instead of a round trip
 * to the database (the PostgreSQL test closes the database to new sessions
 * and ends the pool's: only a real query notices), or the middleware placed
 * after authentication (401) or the page (index.html).
 */

describeBackends('health and readiness', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('GET /health answers 200 { status: "ok" } without authentication', async () => {
    const response = await fetch(`${server.url}/health`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  it('GET /ready answers 200 with the database check', async () => {
    const response = await fetch(`${server.url}/ready`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok' } })
  })

  it('ignores a token, even a wrong one, and other methods fall through to the API (404)', async () => {
    const withBadToken = await fetch(`${server.url}/ready`, { headers: { authorization: 'Bearer not-a-token' } })
    expect(withBadToken.status).toBe(200)
    const post = await fetch(`${server.url}/health`, { method: 'POST' })
    expect(post.status).toBe(404)
  })
})

async function adminQuery(sql: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    await client.query(sql, values)
  } finally {
    await client.end()
  }
}

describePostgres('readiness when the database is unreachable', (backend) => {
  let server: TestServer
  let name = ''

  beforeAll(async () => {
    server = await startServer(backend)
    name = new URL(server.database.databaseUrl).pathname.slice(1)
  })
  afterAll(async () => {
    // Open again, so that the cleanup (DROP DATABASE) and the server's teardown find it as usual.
    if (name !== '') await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
    await server?.close()
  })

  it('answers 503 with "database": "unreachable" and Retry-After while no session can be opened, and 200 again after', async () => {
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    // What a database being restarted or moved looks like: new sessions refused, the open ones ended.
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
    await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])

    const down = await fetch(`${server.url}/ready`)
    expect(down.status).toBe(503)
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await down.json()).toEqual({ status: 'unavailable', checks: { database: 'unreachable' } })
    // Liveness does not depend on the database.
    expect((await fetch(`${server.url}/health`)).status).toBe(200)

    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
    const up = await fetch(`${server.url}/ready`)
    expect(up.status).toBe(200)
    expect(await up.json()).toEqual({ status: 'ready', checks: { database: 'ok' } })
  }, 30_000)
})

/** Reads what the server sends on `socket` until it closes it. */
const readAll = (socket: Socket): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ''
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
    socket.on('end', () => resolve(text))
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })

const connected = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })

describe('readiness while shutting down [sqlite]', () => {
  let database: TestDatabase | undefined
  const sockets: Socket[] = []

  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy())
    await database?.cleanup()
  })

  it('answers 503 { status: "stopping" } to a request that arrives while the server drains', async () => {
    database = await sqlite.create()
    const app = createApp({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', shutdownTimeoutSeconds: 10 })
    const server = await listen(app, 0, '127.0.0.1')
    const { port } = server.address() as AddressInfo

    // A request in flight holds the drain open: its body is never finished.
    const slow = await connected(port)
    sockets.push(slow)
    slow.write('POST /collections HTTP/1.1\r\nHost: roost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na')
    // A request under way (its headers not finished) when the signal comes: it is answered, as a stopping server answers.
    const probe = await connected(port)
    sockets.push(probe)
    probe.write('GET /ready HTTP/1.1\r\nHost: roost\r\n')
    await new Promise((resolve) => setTimeout(resolve, 100))

    const stopped = shutDown(app, server)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const answer = readAll(probe)
    probe.write('\r\n')
    const text = await answer
    expect(text).toMatch(/^HTTP\/1\.1 503 /)
    expect(text).toMatch(/\r\nRetry-After: \d+\r\n/i)
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ status: 'stopping', checks: { database: 'ok' } })

    slow.destroy()
    await stopped
  }, 30_000)
})
