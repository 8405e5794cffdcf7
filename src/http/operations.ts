import { timingSafeEqual } from 'node:crypto'
import type { Middleware } from '@feathersjs/koa'
import type { Application } from '../declarations.js'
import { isDraining } from '../shutdown.js'

/** How long /ready waits for the database to answer `SELECT 1` (or MongoDB's ping). */
const READY_TIMEOUT_MS = 2000
/** What /ready's 503 asks a load balancer or orchestrator to wait before asking again. */
const READY_RETRY_AFTER_SECONDS = 5

/** The state of one dependency in /ready's `checks`: the database, the read replica and the realtime bus when there are. */
type Check = 'ok' | 'unreachable'

/**
 * The operations endpoints, answered before the page, the body parser and
 * authentication (none of them needs any):
 * - `GET /health`: the process serves. No database call: a liveness probe
 *   must not restart a server because its database is away.
 * - `GET /ready`: whether to send it traffic: the database answers a trivial
 *   query within READY_TIMEOUT_MS, and the server is not shutting down. A
 *   read replica is checked the same way and reported, but does not make the
 *   server unready: its reads go to the primary meanwhile
 *   (storage/knex/read-replica.ts), so the answer is 200 with status
 *   `degraded`. So is the realtime bus (sync.url): without it events only
 *   reach this instance's own sockets and the others catch up from their
 *   cursors, and a Redis outage must not take every instance out of the
 *   load balancer at once.
 * - `GET /metrics`: Prometheus text, only when `metrics.token` is set and
 *   then only to `Authorization: Bearer <token>` (404 when not set).
 */
export function operations(app: Application): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
    if (ctx.path === '/health') {
      ctx.set('Cache-Control', 'no-store')
      ctx.body = { status: 'ok' }
    } else if (ctx.path === '/ready') {
      ctx.set('Cache-Control', 'no-store')
      const draining = isDraining(app)
      const storage = app.get('storage')
      const replica = storage.readReplica
      const [database, replicaCheck] = await Promise.all([check(app, 'database', () => storage.ping()), replica && check(app, 'read replica', () => replica.ping())])
      const checks: Record<string, Check> = replicaCheck === undefined ? { database } : { database, replica: replicaCheck }
      const bus = app.get('syncBus')
      if (bus !== undefined) checks.bus = bus.connected() ? 'ok' : 'unreachable'
      const ready = !draining && database === 'ok'
      if (!ready) {
        ctx.status = 503
        ctx.set('Retry-After', String(READY_RETRY_AFTER_SECONDS))
      }
      const status = draining ? 'stopping' : !ready ? 'unavailable' : Object.values(checks).every((one) => one === 'ok') ? 'ready' : 'degraded'
      ctx.body = { status, checks }
    } else if (ctx.path === '/metrics') {
      const token = app.get('metrics').token
      if (token === '') return next()
      if (!bearerMatches(ctx.get('Authorization'), token)) {
        ctx.status = 401
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"')
        ctx.body = { name: 'NotAuthenticated', message: 'GET /metrics needs Authorization: Bearer <metrics token>', code: 401, className: 'not-authenticated' }
        return
      }
      const { registry } = app.get('metricsRegistry')
      ctx.set('Content-Type', registry.contentType)
      ctx.set('Cache-Control', 'no-store')
      ctx.body = await registry.metrics()
    } else {
      return next()
    }
  }
}

/** A dependency's ping, given READY_TIMEOUT_MS to answer. */
async function check(app: Application, what: string, ping: () => Promise<void>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Check>((resolve) => (timer = setTimeout(() => resolve('unreachable'), READY_TIMEOUT_MS)))
  const answer = ping()
    .then(
      (): Check => 'ok',
      (error: unknown): Check => {
        app.get('logger').warn({ err: error }, `readiness: the ${what} did not answer`)
        return 'unreachable'
      }
    )
  try {
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Compared in constant time: the token is a secret. */
function bearerMatches(header: string, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (match === null) return false
  const given = Buffer.from(match[1])
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
