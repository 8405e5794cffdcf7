import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { listen } from '../../src/listen.js'
import { describeOn, sqlite } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, collectionNames, from, newIp, rawCreateCollection, signIn, type Opened } from './helpers.js'

/** One instance, no Redis: the counters are in the process's memory. A one-second window, so a test can see it end. */
const WRITES = { perUser: 3, perIp: 6, windowSeconds: 1 }

describeOn(sqlite, 'write limits in memory (one instance, no Redis)', (backend) => {
  let server: TestServer
  const opened: Opened = []

  beforeAll(async () => {
    server = await startServer(backend, { trustProxy: true, rateLimits: { writes: WRITES } })
  })
  afterAll(async () => {
    for (const socket of opened) socket.close()
    await server?.close()
  })

  it('the write after perUser is 429 with Retry-After; reads and internal calls are not counted', async () => {
    expect(server.app.get('sync').url).toBe('')
    const user = await account(server.app)
    const ip = newIp()
    const client = await signIn(from(server.url, 'rest', ip, opened), user)
    for (let i = 0; i < WRITES.perUser; i++) {
      await client.service('collections').create({ name: `c${i}` })
      await collectionNames(client)
    }
    // The server's own calls (no provider) are not a client's writes.
    await server.app.service('collections').create({ name: 'internal' }, { user: { id: user.id, email: user.email, createdAt: '' } })

    const refused = await rawCreateCollection(server.url, ip, (await client.authentication.getAccessToken()) as string, 'over')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBe(WRITES.windowSeconds)
    expect(((await refused.json()) as { message: string }).message).toMatch(/rateLimits\.writes\.perUser/)
    expect((await collectionNames(client)).sort()).toEqual(['c0', 'c1', 'c2', 'internal'])
  })

  it('a refused write is not kept as the answer of its idempotency key: after the window, the retry writes', async () => {
    const user = await account(server.app)
    const ip = newIp()
    const client = await signIn(from(server.url, 'rest', ip, opened), user)
    const token = (await client.authentication.getAccessToken()) as string
    for (let i = 0; i < WRITES.perUser; i++) await client.service('collections').create({ name: `c${i}` })
    const keyed = { 'Idempotency-Key': `limited-${user.id}` }
    expect((await rawCreateCollection(server.url, ip, token, 'retried', keyed)).status).toBe(429)

    await new Promise((resolve) => setTimeout(resolve, WRITES.windowSeconds * 1000 + 100))
    const retried = await rawCreateCollection(server.url, ip, token, 'retried', keyed)
    expect(retried.status).toBe(201)
    expect(retried.headers.get('Idempotent-Replayed')).toBeNull()
    expect(await collectionNames(client)).toContain('retried')
  })

  it('writes without a valid token are counted under their IP (and answered 401)', async () => {
    const ip = newIp()
    for (let i = 0; i < WRITES.perIp; i++) expect((await rawCreateCollection(server.url, ip, 'not-a-token', 'x')).status).toBe(401)
    const refused = await rawCreateCollection(server.url, ip, 'not-a-token', 'x')
    expect(refused.status).toBe(429)
    expect(((await refused.json()) as { message: string }).message).toMatch(/rateLimits\.writes\.perIp/)
  })
})

describe("the counters' Redis unreachable at start", () => {
  it('setup fails naming it (password hidden): an instance would otherwise count alone without saying so', async () => {
    // A port nobody listens on: taken, then freed.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const dataDir = mkdtempSync(join(tmpdir(), 'roost-limits-'))
    const app = createApp({ dataDir, logLevel: 'silent', rateLimits: { redisUrl: `redis://roost:secret@127.0.0.1:${port}` } })
    try {
      await expect(listen(app, 0, '127.0.0.1')).rejects.toThrow(
        new RegExp(`^The rate-limit counters' Redis \\(rateLimits\\.redisUrl or sync\\.url, redis://roost:\\*\\*\\*@127\\.0\\.0\\.1:${port}\\) is not reachable`)
      )
    } finally {
      await app.get('limiters').close()
      app.server?.close()
      await app.get('storage').close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
