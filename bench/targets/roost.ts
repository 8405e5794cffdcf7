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
  const secret = randomBytes(32).toString('hex')
  const env = (database: BenchDatabase) => ({
    ...roostEnv(database, secret, origins, roostConfig()),
    ...(variant === 'baseline' ? {} : { ROOST_STORAGE_SHORTCUTS: variant === 'plain' ? 'false' : 'true' })
  })
  const cwd = variant === 'baseline' ? baselineDir : undefined
  return startServerChild({ name, script: 'src/index.ts', cwd, backend, env }, async (server) => {
    const { http, accessToken } = await signUp(server.url, newUser())
    return {
      kind: 'roost',
      name,
      ...serverTarget(server, backend, http),
      accessToken,
      newCollection: () => newCollection(http)
    }
  })
}

/**
 * The environment of every Roost target's server: `secret` signs its tokens
 * and its data folder is the database's (instances sharing both accept each
 * other's tokens), with `config` as NODE_CONFIG.
 */
export function roostEnv(database: BenchDatabase, secret: string, origins: string[], config: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: secret,
    ROOST_DATA_DIR: database.dir,
    // W7 says which client IP each sign-in comes from (X-Forwarded-For), as a proxy would.
    ROOST_TRUST_PROXY: 'true',
    NODE_CONFIG: config,
    // Browser workloads' pages (W6 in Chromium) call from an origin of their own; otherwise the configured default.
    ...(origins.length > 0 ? { CORS_ORIGINS: JSON.stringify(origins) } : {})
  }
}

/**
 * node-config's JSON override (NODE_CONFIG) of every Roost target, plus `extra`:
 * - W4k's thousand subscribers are sockets of the one bench user (a real crowd
 *   would be many users, each under the per-user quota of config/default.json):
 *   the quota is raised;
 * - every workload writes as one user from one IP (behind nginx, nginx's): the
 *   write limits per user and per IP (issue 18) are raised out of reach, so the
 *   benchmark measures writing, not limiting. Code without those settings
 *   ignores them (the configuration schema lets unknown keys through).
 */
export function roostConfig(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    realtime: { maxSocketsPerUser: 10_000 },
    rateLimits: { writes: { perUser: 1e9, perIp: 1e9 } },
    ...extra
  })
}

export interface BenchUser {
  email: string
  password: string
}

export const newUser = (): BenchUser => ({ email: `bench-${randomBytes(4).toString('hex')}@example.com`, password: randomBytes(12).toString('hex') })

/** Signs `user` up and in at `url`: an HTTP client that sends its token, and the token. */
export async function signUp(url: string, user: BenchUser): Promise<{ http: HttpClient; accessToken: string }> {
  const anonymous = new HttpClient(url)
  await anonymous.json('POST', '/users', user)
  const { accessToken } = await anonymous.json<{ accessToken: string }>('POST', '/authentication', { strategy: 'local', ...user })
  return { http: anonymous.with({ authorization: `Bearer ${accessToken}` }), accessToken }
}

export const newCollection = async (http: HttpClient): Promise<string> => (await http.json<{ id: string }>('POST', '/collections', {})).id
