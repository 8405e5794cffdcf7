import { createClient } from 'redis'
import { RateLimiterMemory, RateLimiterRedis, RLWrapperTimeouts } from 'rate-limiter-flexible'
import type { Application } from '../declarations.js'
import { isRedisUrl } from '../realtime/bus/index.js'
import { memoryLimiters, type LimiterFactory } from './rate-limits.js'

/** Where the rate-limit counters live: this process, or a Redis every instance shares. */
export interface LimiterStore {
  create: LimiterFactory
  /** Connects (at setup): resolves once the shared counters can be used, rejects if their Redis is away. */
  open(): Promise<void>
  close(): Promise<void>
}

/**
 * How long one count in Redis may take before it is made in memory instead: a
 * Redis that hangs (connected, not answering) must not hold up sign-ins and
 * writes. node-redis' own command timeout does not cover this (it ends once a
 * command is sent), hence rate-limiter-flexible's timeout wrapper.
 */
const COUNT_TIMEOUT_MS = 500

const WARN_INTERVAL_MS = 60_000

/** The memory limiter that counts while Redis cannot: says so whenever it does. */
class Insurance extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly used: () => void
  ) {
    super(options)
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>): ReturnType<RateLimiterMemory['consume']> {
    this.used()
    return super.consume(...args)
  }
}

/**
 * Chooses the counters' store: `rateLimits.redisUrl`, else `sync.url` when
 * it is a Redis (not a NATS bus), else memory. With Redis, each limit is a
 * RateLimiterRedis whose keys start with `sync.key` (the deployment's name:
 * two deployments, or two test runs, on one Redis count apart), insured by a memory limiter of the same size: while
 * Redis is unreachable every instance counts on its own (limits stay on,
 * never a 500, never a wait), and shared counting resumes when it is back.
 *
 * Redis away at start fails setup, as the realtime bus does: an instance that
 * silently counted alone would multiply every limit by the number of instances.
 */
export function limiterStore(app: Application): LimiterStore {
  const syncUrl = app.get('sync').url
  const url = app.get('rateLimits').redisUrl || (isRedisUrl(syncUrl) ? syncUrl : '')
  if (url === '') return { create: memoryLimiters, open: async () => undefined, close: async () => undefined }
  const logger = app.get('logger')
  const prefix = `${app.get('sync').key}:limits`
  let connected = false
  let away = false
  const client = createClient({
    url,
    // A command while disconnected fails at once (to the insurance) instead of waiting in a queue.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * (retries + 1), 2000) : cause)
    }
  })
  client.on('error', (error: unknown) => {
    if (away) return
    away = true
    logger.warn({ err: error }, 'rate-limit counters (Redis) unreachable: each instance counts on its own until it is back')
  })
  client.on('ready', () => {
    if (away) logger.info('rate-limit counters (Redis) reachable again: counted across instances')
    away = false
  })

  // A Redis that hangs sends no error: the insurance says when it is used, once a minute at most.
  let warnedAt = -Infinity
  const warnCountingAlone = () => {
    if (Date.now() - warnedAt < WARN_INTERVAL_MS) return
    warnedAt = Date.now()
    logger.warn('rate limits counted in this instance only: their Redis did not answer in time or is unreachable')
  }

  return {
    async open() {
      try {
        await client.connect()
      } catch (error) {
        const where = url.replace(/:[^:@/]*@/, ':***@')
        throw new Error(`The rate-limit counters' Redis (rateLimits.redisUrl or sync.url, ${where}) is not reachable: ${(error as Error).message}`, {
          cause: error
        })
      }
      connected = true
    },
    create: (options) => {
      const insuranceLimiter = new Insurance(options, warnCountingAlone)
      const shared = new RateLimiterRedis({
        ...options,
        keyPrefix: `${prefix}:${options.keyPrefix}`,
        storeClient: client,
        // node-redis v4+ (v5 here): its command API, not ioredis'.
        useRedisPackage: true,
        // Not connected: straight to the insurance rather than an error.
        rejectIfRedisNotReady: true,
        insuranceLimiter
      })
      return new RLWrapperTimeouts({ limiter: shared, timeoutMs: COUNT_TIMEOUT_MS, insuranceLimiter })
    },
    async close() {
      // Connected: a clean goodbye, which waits for the counts still in flight, but not for
      // longer than they may take (a hung Redis never answers them). Reconnecting: nothing to wait for.
      if (client.isReady) {
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, COUNT_TIMEOUT_MS)
        })
        await Promise.race([client.close().catch(() => undefined), late])
        clearTimeout(timer)
      }
      if (client.isOpen) client.destroy()
    }
  }
}
