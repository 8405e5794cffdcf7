import { randomUUID } from 'node:crypto'
import type { Middleware } from '@feathersjs/koa'
import type { Socket } from 'socket.io'
import type { HookContext, NextFunction } from './declarations.js'
import type { Logger } from './logger.js'
import { currentRequest, requestIdFrom, runInRequest, type RequestContext } from './request-context.js'

declare module '@feathersjs/feathers' {
  interface Params {
    /** socket.io: the connection's id (socket.id), set by the transport for every call over it. */
    connectionId?: string
  }
}

/** Probes poll these every few seconds: their access lines are debug, not info. */
const OPERATIONS_PATHS = new Set(['/health', '/ready', '/metrics'])

/**
 * REST, outermost: the request id (the client's `X-Request-Id` if it is a
 * sane token, else a fresh one), echoed in the response header — on errors
 * too, as it is set before anything else runs — and one access line when the
 * answer is final. The route is the service's pattern when a service
 * answered (callContext records it), never the ids in the path.
 */
export const restRequestLog =
  (logger: Logger): Middleware =>
  async (ctx, next) => {
    const request: RequestContext = { requestId: requestIdFrom(ctx.get('X-Request-Id') || undefined) }
    ctx.set('X-Request-Id', request.requestId)
    const started = performance.now()
    try {
      await runInRequest(request, next)
    } finally {
      const line = {
        requestId: request.requestId,
        method: ctx.method,
        route: request.route ?? ctx.path,
        ...(request.call === undefined ? {} : { call: request.call }),
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10
      }
      logger[OPERATIONS_PATHS.has(ctx.path) ? 'debug' : 'info'](line, 'request')
    }
  }

/**
 * Around every service call, outermost. A REST call is already inside its
 * request (restRequestLog): the first call notes its route pattern and
 * method there. A socket.io call gets a context of its own — a fresh id plus
 * its connection's — and its access line here. Calls services make to each
 * other run inside their caller's context.
 */
export async function callContext(context: HookContext, next: NextFunction): Promise<void> {
  const request = currentRequest()
  if (request !== undefined) {
    if (request.route === undefined && context.params.provider !== undefined) {
      request.route = context.path
      request.call = context.method
    }
    return next()
  }
  if (context.params.provider !== 'socketio') return next()
  const call: RequestContext = { requestId: randomUUID(), connectionId: context.params.connectionId, route: context.path, call: context.method }
  const started = performance.now()
  let status = 200
  try {
    await runInRequest(call, next)
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code
    status = typeof code === 'number' && code >= 400 && code < 600 ? code : 500
    throw error
  } finally {
    const line = { route: call.route, call: call.call, status, durationMs: Math.round((performance.now() - started) * 10) / 10 }
    runInRequest(call, () => context.app.get('logger').info(line, 'socket call'))
  }
}

/** socket.io middleware: every call over a connection carries the connection's id in `params.connectionId`. */
export const socketConnectionIds = (socket: Socket, next: (error?: Error) => void): void => {
  const feathers = (socket as Socket & { feathers?: Record<string, unknown> }).feathers
  if (feathers) feathers.connectionId = socket.id
  next()
}
