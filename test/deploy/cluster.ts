import { randomBytes } from 'node:crypto'
import { describe, it } from 'vitest'
import { createStorage } from '../../src/storage/index.js'
import { describePostgres, type TestBackend, type TestDatabase } from '../helpers/backends.js'
import { nginxProblem, startNginx, type Nginx } from '../helpers/nginx.js'
import { redisServerProblem } from '../helpers/redis-server.js'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

/**
 * Several Roost processes on one PostgreSQL database, sharing a Redis bus,
 * optionally behind nginx: as docs/DEPLOY.md deploys them.
 */

/**
 * PostgreSQL, Debian's nginx and redis-server (a private one, which the tests
 * stop and start) required: skipped with a printed reason without them,
 * failed instead under CI=true.
 */
export function describeCluster(title: string, suite: (backend: TestBackend) => void): void {
  const problems = [nginxProblem(), redisServerProblem()].filter((problem) => problem !== undefined)
  if (problems.length === 0) {
    describePostgres(title, suite)
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs nginx and redis-server under CI', () => {
        throw new Error(`${problems.join('; ')}; CI=true requires them`)
      })
    })
  } else {
    console.warn(`SKIPPED "${title}": ${problems.join('; ')}.`)
    describe.skip(`${title} (skipped: ${problems.join('; ')})`, () => suite(undefined as never))
  }
}

export interface Cluster {
  instances: ServerProcess[]
  /** nginx in front of every instance, if asked for. */
  nginx?: Nginx
  /** Where clients connect: nginx, or else the first instance. */
  url: string
  /** The Redis channel the instances share (sync.key). */
  key: string
  close(): Promise<void>
}

export interface ClusterOptions {
  instances: number
  /** The realtime bus (SYNC_URL). */
  busUrl: string
  nginx: boolean
  /** Merged into every instance's configuration. */
  config?: object
}

export async function startCluster(backend: TestBackend, options: ClusterOptions): Promise<Cluster> {
  const database: TestDatabase = await backend.create()
  // One secret (a token from one instance is good on the others) and a channel of their own.
  const env = { AUTH_SECRET: `cluster-secret-${randomBytes(16).toString('hex')}`, SYNC_URL: options.busUrl, ROOST_TRUST_PROXY: 'true' }
  const key = `roost-test-${randomBytes(6).toString('hex')}`
  const config = { sync: { key }, ...options.config }
  const instances: ServerProcess[] = []
  let nginx: Nginx | undefined
  const close = async () => {
    await nginx?.close()
    for (const instance of instances.splice(0)) await instance.kill()
    await database.cleanup()
  }
  try {
    // The schema first (instances starting at once would race for knex's migration lock), then every instance at once.
    const storage = createStorage(database.databaseUrl, database.dataDir, { shortcuts: true })
    await storage.migrate().finally(() => storage.close())
    const started = await Promise.allSettled(Array.from({ length: options.instances }, () => startServerProcess(database, config, env)))
    for (const result of started) if (result.status === 'fulfilled') instances.push(result.value)
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    if (options.nginx) nginx = await startNginx(instances.map((instance) => instance.url))
  } catch (error) {
    await close()
    throw error
  }
  return { instances, nginx, url: nginx?.url ?? instances[0].url, key, close }
}

/** Record writes an instance answered, from its access lines (REST writes and batch calls). */
export const writesServed = (instance: ServerProcess): number =>
  instance
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"request"') && /"route":"(collections\/:collectionId\/records|batches)/.test(line)).length
