import configuration from '@feathersjs/configuration'
import { feathers } from '@feathersjs/feathers'
import { bodyParser, cors, koa, rest, serveStatic } from '@feathersjs/koa'
import { authentication } from './authentication.js'
import { restClientIp } from './auth/client-ip.js'
import { limiterStore } from './auth/limiter-store.js'
import { limitWrites } from './auth/write-limits.js'
import { channels } from './channels.js'
import { checkConfiguration, normaliseConfiguration, type RoostConfiguration } from './configuration.js'
import type { Application, HookContext, NextFunction } from './declarations.js'
import { systemClock, type Clock } from './clock.js'
import { toClientError } from './errors.js'
import { takeIdempotencyKey } from './idempotency.js'
import { takeLockToken } from './lock-token.js'
import { Sweeper } from './sweeper.js'
import { httpErrors } from './http-errors.js'
import { securityHeaders } from './http/security-headers.js'
import { operations } from './http/operations.js'
import { countCalls, countChanges, metrics } from './metrics/index.js'
import { checkInput } from './hooks/input-shape.js'
import { closeConnections, limitSocketsPerUser, realtime } from './realtime/index.js'
import { sync } from './realtime/sync.js'
import { createLogger } from './logger.js'
import type { DestinationStream } from 'pino'
import { callContext, restRequestLog } from './request-log.js'
import { queryStrings } from './query-string.js'
import { restGuards } from './rest-guards.js'
import { answerUnknownSocketEvents } from './socket-unknown-events.js'
import { ownKeysRouting } from './routing.js'
import { loadOrCreateSecret } from './secret.js'
import { services } from './services/index.js'
import { drainCalls } from './shutdown.js'
import { createStorage } from './storage/index.js'

/** Settings that override config/*.json, e.g. a test's own database and data folder. */
export type Overrides = { [K in keyof RoostConfiguration]?: Partial<RoostConfiguration[K]> }

/**
 * Builds the Roost application: configuration, storage, transports, services
 * and channels. Nothing touches the database or a port until `app.listen()`
 * (or `app.setup()`), which also brings the schema up to date.
 */
export interface AppOptions {
  /** Where "now" comes from; tests pass their own to move time. */
  clock?: Clock
  /** Where log lines go (default stdout); tests pass a stream they read. */
  logDestination?: DestinationStream
}

export function createApp(overrides: Overrides = {}, options: AppOptions = {}): Application {
  const app: Application = koa(feathers())
  app.configure(ownKeysRouting)
  app.configure(configuration())
  for (const [key, value] of Object.entries(overrides)) {
    const current = app.get(key as keyof RoostConfiguration)
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
    app.set(key as keyof RoostConfiguration, (isObject ? { ...(current as object), ...value } : value) as never)
  }
  for (const [key, value] of Object.entries(normaliseConfiguration({ operators: app.get('operators') as unknown }))) app.set(key as keyof RoostConfiguration, value as never)
  const settings = Object.fromEntries(Object.keys(app.settings).map((key) => [key, app.get(key as never)]))
  checkConfiguration(settings)

  const logger = createLogger(app.get('logLevel'), options.logDestination)
  const dataDir = app.get('dataDir')
  app.set('logger', logger)
  app.set('authentication', {
    ...app.get('authentication'),
    secret: loadOrCreateSecret(app.get('authentication').secret, dataDir)
  })
  const readUrl = app.get('databaseReadUrl')
  const readReplica = readUrl === '' ? undefined : { url: readUrl, maxWaitMilliseconds: app.get('readReplica').maxWaitMilliseconds }
  app.set('storage', createStorage(app.get('databaseUrl'), dataDir, { logger, shortcuts: app.get('storageShortcuts'), readReplica, poolSize: app.get('databasePoolSize') }))
  app.set('clock', options.clock ?? systemClock)
  app.set('sweeper', new Sweeper(app))
  app.configure(metrics)

  const origins = app.get('origins')
  const { requestBytes } = app.get('limits')
  // A response body that fails once sent (an export's stream): Koa destroys the connection and reports it here, not on stderr.
  // A client that goes away mid-download is routine (debug); the server failing to finish one is not (warn).
  app.on('error', (error: unknown) => {
    const code = (error as { code?: unknown } | undefined)?.code
    const clientLeft = code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE'
    logger[clientLeft ? 'debug' : 'warn']({ err: error }, clientLeft ? 'client left during a response' : 'response failed after it started')
  })
  // Outermost: the request id and the access line cover every answer, errors and /health included.
  app.use(restRequestLog(logger))
  app.use(securityHeaders())
  app.use(httpErrors(logger))
  // /health, /ready and /metrics: before CORS, the page, the body parser and authentication; none applies to them.
  app.use(operations(app))
  app.use(cors({ origin: (ctx) => allowOrigin(origins, ctx.get('Origin')), exposeHeaders: ['ETag', 'Idempotent-Replayed', 'Retry-After', 'X-Request-Id'] }))
  // Deferred: the page is served only for what no service answered. Otherwise
  // every API request would first wait for a file check on libuv's thread
  // pool, behind whatever password hashes hold it.
  app.use(serveStatic(app.get('public'), { defer: true }))
  // JSON only: form and text bodies would arrive as strings where JSON types are expected.
  app.use(bodyParser({ jsonLimit: requestBytes, urlencoded: false, text: false, multipart: false }))
  // Query strings: a 400 rather than qs's default of silently dropping what is over its limits.
  app.configure(queryStrings)
  // The client's address (params.ip) for rate limits, on both transports.
  const trustProxy = app.get('trustProxy')
  app.use(restClientIp(trustProxy))
  app.configure(restGuards)
  // Before any service is registered: it wraps their `emit` so events cross to the other instances.
  app.configure(sync)
  // Before authentication and the services: their rate limits count here (memory, or the instances' Redis).
  app.set('limiters', limiterStore(app))
  app.configure(rest())
  app.configure(realtime)
  app.configure(authentication)
  app.configure(limitSocketsPerUser)
  app.configure(services)
  app.configure(channels)
  app.configure(countChanges)
  app.configure(answerUnknownSocketEvents)

  // callContext outermost: every log line of a call, the others' included, carries its request id.
  // countCalls next: it counts every call from a client with the status the client gets.
  // drainCalls first after it: a call that arrives during shutdown is refused before anything runs.
  // checkInput next: nothing else (authentication, validation) sees a malformed shape.
  // limitWrites last: a write over the limits is refused before any service hook (idempotency included) runs.
  app.hooks({ around: { all: [callContext, countCalls, hideInternalErrors, drainCalls, checkInput, callParameters, limitWrites(app)] } })
  app.hooks({
    setup: [
      async (context: HookContext, next: NextFunction) => {
        await context.app.get('storage').migrate()
        await context.app.get('syncBus')?.ready
        await context.app.get('limiters').open()
        context.app.get('sweeper').start()
        await next()
      }
    ],
    teardown: [
      async (context: HookContext, next: NextFunction) => {
        // Sockets first, while the database still answers their last calls.
        await closeConnections(context.app, SOCKETS_CLOSE_GRACE_MS)
        context.app.get('sweeper').stop()
        await next()
        // Its Redis clients would keep the process alive.
        await context.app.get('syncBus')?.close()
        await context.app.get('limiters').close()
        await context.app.get('storage').close()
      }
    ]
  })
  return app
}

/** How long sockets get, at teardown, to take what is queued for them before they are cut. */
const SOCKETS_CLOSE_GRACE_MS = 1000

/**
 * The per-call parameters that ride outside the data (idempotency key, lock
 * token), taken out of headers or the query before any validation. One hook
 * for both: it runs on every call.
 */
async function callParameters(context: HookContext, next: NextFunction) {
  takeIdempotencyKey(context)
  takeLockToken(context)
  await next()
}

/** Every service error reaches clients (REST and socket.io) as a Feathers error without internals. */
async function hideInternalErrors(context: HookContext, next: NextFunction) {
  try {
    await next()
  } catch (error) {
    const clientError = toClientError(error)
    if (clientError.code >= 500) {
      // 503s (the database away, the server stopping) are expected in operation: a warning, not an error.
      const level = clientError.code === 503 ? 'warn' : 'error'
      context.app.get('logger')[level]({ err: error, path: context.path, method: context.method }, 'service call failed')
    }
    throw clientError
  }
}

const allowOrigin = (origins: string[], origin: string): string =>
  origins.includes('*') ? '*' : origins.includes(origin) ? origin : ''
