import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { recordsClient } from '../../src/client.js'
import { describePostgres, type TestBackend, type TestDatabase } from '../helpers/backends.js'
import { device, failure, signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { startServerProcess, unstructuredLines, type ServerProcess } from '../helpers/server-process.js'

/**
 * PostgreSQL goes away under load: its sessions are ended with
 * pg_terminate_backend (what a restart does to them, without stopping the
 * shared server) again and again while clients write over REST and
 * socket.io. Every answer must be a success or a 503 with a Retry-After
 * (never a 500, whatever the driver's error was), every acknowledged write
 * readable afterwards, recovery automatic, and every line the server wrote
 * JSON (knex and the pg driver print their own text unless routed).
 *
 * What makes it fail: pg's code-less errors ("Connection terminated
 * unexpectedly", "Client has encountered a connection error and is not
 * queryable") left out of driver-errors.ts come back as 500s; knex's
 * `log` left unset prints "Connection Error: …" as plain text.
 */

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const WRITERS_PER_TRANSPORT = 3
const TERMINATIONS = 8
const TERMINATE_EVERY_MS = 250

interface Outcome {
  transport: string
  id: string
  status: number
  retryAfter?: unknown
  body?: unknown
}

async function terminateSessions(databaseName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  await admin.connect()
  try {
    const result = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName])
    return result.rowCount ?? 0
  } finally {
    await admin.end()
  }
}

describePostgres('database faults: sessions terminated under load', (backend) => {
  let database: TestDatabase | undefined
  let server: ServerProcess | undefined
  const clients: Array<{ close(): void }> = []

  afterAll(async () => {
    clients.forEach((client) => client.close())
    await server?.kill()
    await database?.cleanup()
  })

  it('answers every write with success or 503 + Retry-After, loses no acknowledged write, recovers, and logs only JSON', async () => {
    database = await backend.create()
    const databaseName = new URL(database.databaseUrl).pathname.slice(1)
    server = await startServerProcess(database)
    const owner: TestClient = await signedIn(server.url, 'rest')
    clients.push(owner)
    const token = await owner.client.authentication.getAccessToken()
    const { id: collectionId } = await owner.client.service('collections').create({ name: 'faults' })
    const sockets = await Promise.all(Array.from({ length: WRITERS_PER_TRANSPORT }, () => device(server!.url, 'socketio', owner)))
    clients.push(...sockets)

    const outcomes: Outcome[] = []
    let writing = true

    const restWriter = async (writer: number) => {
      for (let n = 0; writing; n++) {
        const id = `rest-${writer}-${n}`
        const response = await fetch(`${server!.url}/collections/${collectionId}/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, data: { n, pad: randomBytes(64).toString('hex') } })
        })
        const body: unknown = await response.json()
        outcomes.push({ transport: 'rest', id, status: response.status, retryAfter: response.headers.get('retry-after') ?? undefined, body })
      }
    }
    const socketWriter = async (writer: number) => {
      const records = recordsClient(sockets[writer].client, collectionId)
      for (let n = 0; writing; n++) {
        const id = `socket-${writer}-${n}`
        try {
          await records.create({ id, data: { n } })
          outcomes.push({ transport: 'socketio', id, status: 201 })
        } catch (error) {
          const { code, data } = error as { code: number; data?: { retryAfterSeconds?: unknown } }
          outcomes.push({ transport: 'socketio', id, status: code, retryAfter: data?.retryAfterSeconds, body: error })
        }
      }
    }

    const writers = [
      ...Array.from({ length: WRITERS_PER_TRANSPORT }, (_, writer) => restWriter(writer)),
      ...Array.from({ length: WRITERS_PER_TRANSPORT }, (_, writer) => socketWriter(writer))
    ]
    let terminated = 0
    for (let round = 0; round < TERMINATIONS; round++) {
      await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS))
      terminated += await terminateSessions(databaseName)
    }
    writing = false
    await Promise.all(writers)

    // The faults really happened, and were seen by clients.
    expect(terminated).toBeGreaterThan(0)
    const refused = outcomes.filter((outcome) => outcome.status !== 201)
    const wrong = refused.filter((outcome) => outcome.status !== 503 || outcome.retryAfter === undefined)
    expect(wrong, `answers other than 201 or 503 with Retry-After: ${JSON.stringify(wrong.slice(0, 5))}`).toEqual([])
    expect(refused.length, 'no write met a terminated session').toBeGreaterThan(0)
    for (const outcome of refused) {
      expect(Number(outcome.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(JSON.stringify(outcome.body)).not.toMatch(/terminat|queryable|pg_|connection/i)
    }

    // Recovery needs no one: the next writes of both transports succeed.
    await recordsClient(owner.client, collectionId).create({ id: 'after-rest', data: {} })
    await recordsClient(sockets[0].client, collectionId).create({ id: 'after-socket', data: {} })

    // Every acknowledged write is there.
    const stored = new Set<string>()
    for (let skip = 0; ; skip += 1000) {
      const page = await recordsClient(owner.client, collectionId).find({ query: { $limit: 1000, $skip: skip } })
      page.data.forEach((record) => stored.add(record.id))
      if (page.data.length < 1000) break
    }
    const acknowledged = outcomes.filter((outcome) => outcome.status === 201).map((outcome) => outcome.id)
    expect(acknowledged.length).toBeGreaterThan(0)
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([])

    // Everything the server said, on both streams, is JSON; and it did say something about the outage.
    const output = server.stdout() + server.stderr()
    expect(unstructuredLines(output)).toEqual([])
    expect(output).toMatch(/"level":(40|50)/)
  }, 60_000)
})

/**
 * SQLite: another process holds the database file's write lock (an
 * exclusive transaction) for longer than Roost's busy timeout. Writes are
 * answered 503 with a Retry-After over both transports, and succeed once the
 * lock is gone.
 */
describe('database faults: the SQLite file locked by another process [sqlite]', () => {
  let dataDir: string | undefined
  let server: TestServer | undefined
  const clients: Array<{ close(): void }> = []
  const sqliteBackend: TestBackend = {
    name: 'sqlite',
    async create() {
      dataDir = mkdtempSync(path.join(tmpdir(), 'roost-test-'))
      return { databaseUrl: '', dataDir, cleanup: async () => undefined }
    }
  }

  afterAll(async () => {
    clients.forEach((client) => client.close())
    await server?.close()
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
  })

  it('answers writes with 503 and Retry-After while the lock lasts, and writes again after', async () => {
    server = await startServer(sqliteBackend)
    const owner = await signedIn(server.url, 'rest')
    const socket = await device(server.url, 'socketio', owner)
    clients.push(owner, socket)
    const { id: collectionId } = await owner.client.service('collections').create({ name: 'locked' })
    const token = await owner.client.authentication.getAccessToken()

    const other = new Database(path.join(dataDir!, 'roost.sqlite'))
    try {
      other.exec('BEGIN EXCLUSIVE')
      const [rest, overSocket] = await Promise.all([
        fetch(`${server.url}/collections/${collectionId}/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'over-rest', data: {} })
        }),
        failure(recordsClient(socket.client, collectionId).create({ id: 'over-socket', data: {} }))
      ])
      expect(rest.status).toBe(503)
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(await rest.json()).toMatchObject({ name: 'Unavailable', data: { retryAfterSeconds: expect.any(Number) } })
      expect(overSocket).toMatchObject({ code: 503, data: { retryAfterSeconds: expect.any(Number) } })
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    await recordsClient(owner.client, collectionId).create({ id: 'over-rest', data: {} })
    await recordsClient(socket.client, collectionId).create({ id: 'over-socket', data: {} })
  }, 30_000)
})
