import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createClient } from 'redis'
import { describe, it } from 'vitest'
import { createApp, type Overrides } from '../../src/app.js'
import type { Application } from '../../src/declarations.js'
import { listen } from '../../src/listen.js'
import { describePostgres, type TestBackend } from './backends.js'
import { redisProblem as probeRedis } from './redis-probe.js'

/** The Redis the several-instance tests use (TEST_REDIS_URL, or the machine's own). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Why Redis cannot be used here, or undefined if it can. */
export const redisProblem: string | undefined = await probeRedis(REDIS_URL)

/**
 * Several instances on PostgreSQL with Redis: skipped with a printed reason
 * without Redis (or PostgreSQL), failed instead under CI=true.
 */
export function describeInstances(title: string, suite: (backend: TestBackend) => void): void {
  if (redisProblem === undefined) {
    describePostgres(title, suite)
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs Redis under CI', () => {
        throw new Error(`${redisProblem}; CI=true requires it (set TEST_REDIS_URL)`)
      })
    })
  } else {
    console.warn(`SKIPPED "${title}": ${redisProblem}. Set TEST_REDIS_URL to run it.`)
    describe.skip(`${title} (skipped: ${redisProblem})`, () => suite(undefined as never))
  }
}

export interface Instance {
  app: Application
  url: string
}

export interface Instances {
  instances: Instance[]
  /** The bus channel (Redis) or subject (NATS) they share. */
  key: string
  close(): Promise<void>
}

/**
 * `count` Roost apps on one fresh database of `backend`, each on its own port,
 * sharing one data folder (so one token secret) and one channel of their own
 * on the bus at `busUrl` (Redis unless told: test/helpers/buses.ts), under a
 * fresh key: test files running in parallel do not hear each other.
 */
export async function startInstances(backend: TestBackend, count: number, overrides: Overrides = {}, busUrl = REDIS_URL): Promise<Instances> {
  const database = await backend.create()
  const key = `roost-test-${randomBytes(6).toString('hex')}`
  const instances: Array<Instance & { close(): Promise<void> }> = []
  const closeAll = async () => {
    for (const instance of instances.splice(0)) await instance.close()
  }
  try {
    // One after the other: the first brings the schema up to date.
    for (let index = 0; index < count; index++) {
      const app = createApp({
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        host: '127.0.0.1',
        port: 0,
        logLevel: 'silent',
        sync: { url: busUrl, key },
        ...overrides
      })
      const server = await listen(app, 0, '127.0.0.1')
      instances.push({
        app,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        async close() {
          server.closeAllConnections()
          await app.teardown()
        }
      })
    }
  } catch (error) {
    await closeAll()
    await database.cleanup()
    throw error
  }
  return {
    instances,
    key,
    async close() {
      await closeAll()
      await database.cleanup()
      await removeRedisKeys(`${key}:*`)
    }
  }
}

/**
 * What the instances left in Redis under their key (the rate-limit counters):
 * removed, not left to expire. Best effort: a test that stopped Redis leaves
 * nothing it could remove, and its keys expire with their windows.
 */
async function removeRedisKeys(pattern: string): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch)
    if (keys.length > 0) await client.del(keys)
  } catch {
    // Redis is away: see above.
  } finally {
    if (client.isOpen) client.destroy()
  }
}
