import type { Server } from 'node:http'
import type { Application, HookContext, NextFunction } from './declarations.js'
import { unavailable } from './errors.js'
import { closeConnections } from './realtime/index.js'

/**
 * A clean stop (SIGINT, SIGTERM), in this order:
 * 1. stop accepting: the port is closed, idle keep-alive connections too, and
 *    calls that arrive on connections still open are refused with 503 and
 *    `Retry-After` (a client retries, elsewhere or once this server is back);
 * 2. finish what is in flight: every REST request and socket.io call already
 *    started is answered (so a commit under way completes and its answer is sent);
 * 3. close the sockets as lost connections, so their clients reconnect by
 *    themselves (to another instance, or to this one once restarted);
 * 4. close the database (app.teardown).
 * All within `shutdownTimeoutSeconds`; index.ts exits anyway after that.
 */

/** Calls and requests in flight, and whether new ones are still accepted. */
class Drain {
  private inFlight = 0
  private idleWaiters: Array<() => void> = []
  draining = false

  begin(): void {
    this.inFlight++
  }

  /**
   * A call ends when its hooks return, but its answer is handed to socket.io
   * a few promise turns later (after the hooks that wrap them): counted out
   * on the next turn of the event loop, so that the answer is queued on its
   * socket before the sockets are closed. (Closing at once lost the answer
   * of a socket.io commit in flight at the signal.)
   */
  end(): void {
    setImmediate(() => {
      this.inFlight--
      if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((wake) => wake())
    })
  }

  /** Resolves when nothing is in flight, or at `deadline` (ms since the epoch) whatever remains. */
  async idle(deadline: number): Promise<number> {
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
        this.idleWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.inFlight
  }
}

const drains = new WeakMap<Application, Drain>()

const drainOf = (app: Application): Drain => {
  let drain = drains.get(app)
  if (drain === undefined) {
    drain = new Drain()
    drains.set(app, drain)
  }
  return drain
}

/** Whether the server is stopping (/ready answers 503 from the first moment). */
export const isDraining = (app: Application): boolean => drainOf(app).draining

/**
 * Around every service call: counts socket.io calls in flight (REST requests
 * are counted whole, response included, by `trackRequests`) and refuses new
 * calls from clients once the server is stopping. Calls a service makes to
 * another (no provider) are never refused: they belong to a call in flight.
 */
export async function drainCalls(context: HookContext, next: NextFunction): Promise<void> {
  const provider = context.params.provider as string | undefined
  if (provider === undefined) return next()
  const drain = drainOf(context.app)
  if (drain.draining) throw unavailable('The server is shutting down; retry in a moment', 1)
  if (provider !== 'socketio') return next()
  drain.begin()
  try {
    await next()
  } finally {
    drain.end()
  }
}

/** Counts REST requests from their arrival until their response is sent (socket.io's own requests excepted: long polls never end by themselves). */
export function trackRequests(app: Application, server: Server): void {
  const drain = drainOf(app)
  server.on('request', (request, response) => {
    if (request.url?.startsWith('/socket.io/')) return
    // While stopping, keep-alive connections end with their response.
    if (drain.draining) response.setHeader('Connection', 'close')
    drain.begin()
    response.once('close', () => drain.end())
  })
}

/** How long sockets get to take what is queued for them before they are cut, out of the whole timeout. */
const SOCKETS_GRACE_SHARE = 0.2

/** Runs the steps above; resolves once the database is closed. */
export async function shutDown(app: Application, server: Server): Promise<void> {
  const logger = app.get('logger')
  const timeoutMs = app.get('shutdownTimeoutSeconds') * 1000
  const socketsGraceMs = timeoutMs * SOCKETS_GRACE_SHARE
  const drain = drainOf(app)
  drain.draining = true

  const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()

  const left = await drain.idle(Date.now() + timeoutMs - socketsGraceMs)
  if (left > 0) logger.warn({ inFlight: left }, 'shutdown: calls still running are cut')
  await closeConnections(app, socketsGraceMs)
  server.closeAllConnections()
  await stopped

  // The server is closed already; Feathers' teardown would close it again and fail.
  app.server = undefined as unknown as Application['server']
  await app.teardown()
}
