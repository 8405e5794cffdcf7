import { randomBytes } from 'node:crypto'
import { spawnNode } from '../lib/children.js'
import { createDatabase, type Backend } from '../lib/databases.js'
import { HttpClient, waitForHttp } from '../lib/http.js'
import { freePort } from '../lib/ports.js'
import type { RoostTarget } from './types.js'

/**
 * The real Roost server, `src/index.ts` as `npm start` runs it (through tsx's
 * loader, in production mode), in its own process on a fresh database, with
 * one signed-up user whose token the workloads use.
 */
export async function startRoost(backend: Backend): Promise<RoostTarget> {
  const database = await createDatabase(backend)
  const port = await freePort()
  const child = spawnNode('src/index.ts', {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'silent',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    ROOST_DATA_DIR: database.dir,
    DATABASE_URL: database.postgresUrl ?? `sqlite:${database.sqliteFile}`
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await child.stop()
    await database.drop()
  }
  try {
    await waitForHttp(url, 60_000, child.exited)
    const anonymous = new HttpClient(url)
    const email = `bench-${randomBytes(4).toString('hex')}@example.com`
    const password = randomBytes(12).toString('hex')
    await anonymous.json('POST', '/users', { email, password })
    const { accessToken } = await anonymous.json<{ accessToken: string }>('POST', '/authentication', { strategy: 'local', email, password })
    const http = anonymous.with({ authorization: `Bearer ${accessToken}` })
    return {
      kind: 'roost',
      name: `roost-${backend}`,
      backend,
      database,
      pid: child.pid,
      cpuSeconds: child.cpuSeconds,
      url,
      http,
      accessToken,
      async newCollection() {
        return (await http.json<{ id: string }>('POST', '/collections', {})).id
      },
      async stop() {
        http.close()
        await stop()
      }
    }
  } catch (error) {
    await stop()
    throw new Error(`roost-${backend} did not start: ${(error as Error).message}\n${child.output()}`)
  }
}
