import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordsClient, serverStatsPath, type ServerStats } from '../../src/client.js'
import { normaliseConfiguration } from '../../src/configuration.js'
import { describeBackends, sqlite } from '../helpers/backends.js'
import { startServerProcess } from '../helpers/server-process.js'
import { connect, device, failure, newEmail, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * The operator view (GET /server-stats): counts for the users named in the
 * `operators` setting, 403 "operators only" for everyone else signed in, 401
 * without a token, and never any record data.
 */
describeBackends('server-stats', (backend) => {
  let server: TestServer
  const operatorEmail = newEmail()
  const opened: Array<{ close(): void }> = []
  let operatorAccount: TestClient

  beforeAll(async () => {
    // Written as an operator might type it: the check compares lower-cased addresses.
    server = await startServer(backend, { operators: [` ${operatorEmail.toUpperCase()} `] })
    operatorAccount = await signedIn(server.url, 'rest', operatorEmail)
  })
  afterAll(async () => {
    for (const connection of opened) connection.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let operator: { client: TestClient['client']; close(): void }
      let user: TestClient

      beforeAll(async () => {
        operator = transport === 'rest' ? operatorAccount : await device(server.url, transport, operatorAccount)
        user = await signedIn(server.url, transport)
        opened.push(operator, user)
      })

      it('an operator gets the counts, which follow what is stored, and no record data', async () => {
        const before = (await operator.client.service(serverStatsPath).find()) as ServerStats
        expect(before).toMatchObject({
          status: 'ok',
          version: expect.stringMatching(/^\d+\.\d+\.\d+/),
          database: { backend: backend.name === 'postgres' ? 'postgresql' : backend.name }
        })
        expect(Date.parse(before.startedAt)).toBeLessThanOrEqual(Date.now())
        expect(before.uptimeSeconds).toBeGreaterThanOrEqual(0)
        // This test's two sockets at least (over socket.io), both signed in.
        if (transport === 'socketio') expect(before.realtime.authenticated).toBeGreaterThanOrEqual(2)
        expect(before.realtime.connections).toBeGreaterThanOrEqual(before.realtime.authenticated)

        const secret = `secret-${newEmail()}`
        const collectionId = (await user.client.service('collections').create({})).id
        const records = recordsClient(user.client, collectionId)
        const kept = await records.create({ data: { secret } })
        const gone = await records.create({ data: 'gone' })
        await records.remove(gone.id, { query: { version: gone.version } })
        await user.client.service('batches').create({})

        const after = (await operator.client.service(serverStatsPath).find()) as ServerStats
        expect(after.counts).toEqual({
          users: before.counts.users,
          collections: before.counts.collections + 1,
          records: before.counts.records + 1,
          tombstones: before.counts.tombstones + 1,
          bytes: before.counts.bytes + Buffer.byteLength(JSON.stringify(kept.data)),
          openBatches: before.counts.openBatches + 1,
          locks: before.counts.locks
        })
        expect(JSON.stringify(after)).not.toContain(secret)
      })

      it('anyone else signed in: 403 "operators only"; no token: 401', async () => {
        expect(await failure(user.client.service(serverStatsPath).find())).toMatchObject({ code: 403, name: 'Forbidden', message: 'operators only' })
        const anonymous = connect(server.url, transport)
        opened.push(anonymous)
        expect(await failure(anonymous.client.service(serverStatsPath).find())).toMatchObject({ code: 401, name: 'NotAuthenticated' })
      })

      it('bad input: a query field → 400 naming it', async () => {
        const service = operator.client.service(serverStatsPath)
        const find = service.find.bind(service) as (params: unknown) => Promise<ServerStats>
        expect(await failure(find({ query: { all: true } }))).toMatchObject({
          code: 400,
          message: '"query" has an unknown field "all"'
        })
      })
    })
  }
})

describe('operators setting', () => {
  it('ROOST_OPERATORS reaches a server started as `npm start` runs it', async () => {
    const database = await sqlite.create()
    const server = await startServerProcess(database, {}, { ROOST_OPERATORS: ' Ops@Example.com , someone@example.org' })
    try {
      const token = async (email: string) => {
        const password = 'a long enough password'
        const json = { 'content-type': 'application/json' }
        await fetch(`${server.url}/users`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
        const signedIn = await fetch(`${server.url}/authentication`, { method: 'POST', headers: json, body: JSON.stringify({ strategy: 'local', email, password }) })
        return ((await signedIn.json()) as { accessToken: string }).accessToken
      }
      const asOperator = await fetch(`${server.url}/server-stats`, { headers: { authorization: `Bearer ${await token('ops@example.com')}` } })
      expect(asOperator.status).toBe(200)
      expect(await asOperator.json()).toMatchObject({ status: 'ok', database: { backend: 'sqlite' } })
      const asOther = await fetch(`${server.url}/server-stats`, { headers: { authorization: `Bearer ${await token(newEmail())}` } })
      expect(asOther.status).toBe(403)
    } finally {
      await server.kill()
      await database.cleanup()
    }
  }, 60_000)

  it('ROOST_OPERATORS is a comma-separated list, trimmed and lower-cased; lists stay lists', () => {
    expect(normaliseConfiguration({ operators: ' Ada@Example.com, bob@example.org ,,' })).toEqual({ operators: ['ada@example.com', 'bob@example.org'] })
    expect(normaliseConfiguration({ operators: '' })).toEqual({ operators: [] })
    expect(normaliseConfiguration({ operators: ['X@Y.org'] })).toEqual({ operators: ['x@y.org'] })
    // Left for checkConfiguration to refuse.
    expect(normaliseConfiguration({ operators: 42 })).toEqual({})
  })
})
