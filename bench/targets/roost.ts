import { randomBytes } from 'node:crypto'
import type { Backend, BenchDatabase } from '../lib/databases.js'
import { HttpClient } from '../lib/http.js'
import { serverTarget, startServerChild } from './server-child.js'
import type { RoostTarget } from './types.js'

/**
 * The real Roost server, `src/index.ts` as `npm start` runs it (through tsx's
 * loader, in production mode), in its own process on a fresh database, with
 * one signed-up user whose token the workloads use; it allows `origins`
 * (browser pages) by CORS.
 */
export function startRoost(backend: Backend, origins: string[] = []): Promise<RoostTarget> {
  const env = (database: BenchDatabase) => ({
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    ROOST_DATA_DIR: database.dir,
    // W7 says which client IP each sign-in comes from (X-Forwarded-For), as a proxy would.
    ROOST_TRUST_PROXY: 'true',
    // Browser workloads' pages (W6 in Chromium) call from an origin of their own; otherwise the configured default.
    ...(origins.length > 0 ? { CORS_ORIGINS: JSON.stringify(origins) } : {})
  })
  return startServerChild(`roost-${backend}`, 'src/index.ts', backend, env, async (server) => {
    const anonymous = new HttpClient(server.url)
    const email = `bench-${randomBytes(4).toString('hex')}@example.com`
    const password = randomBytes(12).toString('hex')
    await anonymous.json('POST', '/users', { email, password })
    const { accessToken } = await anonymous.json<{ accessToken: string }>('POST', '/authentication', { strategy: 'local', email, password })
    const http = anonymous.with({ authorization: `Bearer ${accessToken}` })
    return {
      kind: 'roost',
      name: `roost-${backend}`,
      ...serverTarget(server, backend, http),
      accessToken,
      async newCollection() {
        return (await http.json<{ id: string }>('POST', '/collections', {})).id
      }
    }
  })
}
