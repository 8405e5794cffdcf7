import { randomBytes } from 'node:crypto'
import type { Backend, BenchDatabase } from '../lib/databases.js'
import { HttpClient } from '../lib/http.js'
import { serverTarget, startServerChild } from './server-child.js'
import type { RoostTarget, TargetName, Variant } from './types.js'

export interface RoostOptions {
  /** Browser origins it allows by CORS (the pages of browser workloads). */
  origins: string[]
  /** Which Roost (types.ts): this checkout with or without its speed-ups, or the baseline checkout. */
  variant: Variant
  /** The baseline checkout (--baseline); needed for the baseline variant. */
  baselineDir?: string
}

/**
 * The real Roost server, `src/index.ts` as `npm start` runs it (through tsx's
 * loader, in production mode), in its own process on a fresh database, with
 * one signed-up user whose token the workloads use; it allows `origins`
 * (browser pages) by CORS.
 *
 * The current and plain variants run this checkout's server with the storage
 * speed-ups explicitly on or off (ROOST_STORAGE_SHORTCUTS, config
 * `storageShortcuts`), so a value left in the shell cannot blur the
 * comparison. The baseline variant runs the baseline checkout's server from
 * that checkout (its own config/ and migrations/), with the same environment
 * and no switch (code from before the switch may not know it).
 */
export function startRoost(name: TargetName, backend: Backend, options: RoostOptions): Promise<RoostTarget> {
  const { origins, variant, baselineDir } = options
  if (variant === 'baseline' && !baselineDir) throw new Error(`${name} needs --baseline DIR`)
  const env = (database: BenchDatabase) => ({
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    ROOST_DATA_DIR: database.dir,
    // W7 says which client IP each sign-in comes from (X-Forwarded-For), as a proxy would.
    ROOST_TRUST_PROXY: 'true',
    // W4k's thousand subscribers are sockets of the one bench user (a real crowd would be many users, each
    // under the per-user quota of config/default.json): the quota is raised, node-config's JSON override.
    // Likewise the write limits: the workloads write as fast as one user can, far past a real client's rate.
    NODE_CONFIG: JSON.stringify({
      realtime: { maxSocketsPerUser: 10_000 },
      rateLimits: { writes: { perUser: 1_000_000_000, perIp: 1_000_000_000, windowSeconds: 60 } }
    }),
    // Browser workloads' pages (W6 in Chromium) call from an origin of their own; otherwise the configured default.
    ...(origins.length > 0 ? { CORS_ORIGINS: JSON.stringify(origins) } : {}),
    ...(variant === 'baseline' ? {} : { ROOST_STORAGE_SHORTCUTS: variant === 'plain' ? 'false' : 'true' })
  })
  const cwd = variant === 'baseline' ? baselineDir : undefined
  return startServerChild({ name, script: 'src/index.ts', cwd, backend, env }, async (server) => {
    const anonymous = new HttpClient(server.url)
    const email = `bench-${randomBytes(4).toString('hex')}@example.com`
    const password = randomBytes(12).toString('hex')
    await anonymous.json('POST', '/users', { email, password })
    const { accessToken } = await anonymous.json<{ accessToken: string }>('POST', '/authentication', { strategy: 'local', email, password })
    const http = anonymous.with({ authorization: `Bearer ${accessToken}` })
    return {
      kind: 'roost',
      name,
      ...serverTarget(server, backend, http),
      accessToken,
      async newCollection() {
        return (await http.json<{ id: string }>('POST', '/collections', {})).id
      }
    }
  })
}
