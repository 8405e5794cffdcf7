import type { Bus, BusOptions } from './bus.js'
import { natsBus } from './nats.js'
import { redisBus } from './redis.js'

export type { Bus, BusOptions } from './bus.js'

/** Whether `sync.url` names a Redis (which the rate-limit counters may share) rather than another bus. */
export const isRedisUrl = (url: string): boolean => /^rediss?:\/\//.test(url)

/** The bus `sync.url` names: redis(s):// or nats:// / tls:// (the configuration schema admits no other). */
export const openBus = (options: BusOptions): Bus => (isRedisUrl(options.url) ? redisBus(options) : natsBus(options))

/** `url` for logs and errors: a password hidden, and on NATS a token (user info alone) too. */
export const redactedUrl = (url: string): string =>
  url.replace(/:[^:@/]*@/, ':***@').replace(/^((?:nats|tls):\/\/)[^:@/]+@/, '$1***@')
