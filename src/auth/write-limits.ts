import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Application, HookContext, NextFunction } from '../declarations.js'
import type { RoostConfiguration } from '../configuration.js'
import { memoryLimiters, take, type LimiterFactory } from './rate-limits.js'

/** Reads: the only calls that are not counted. Everything else (create, update, patch, remove, append, commit…) writes. */
const READS = new Set(['find', 'get'])

/** Sign-in and sign-out have limits of their own (src/auth/rate-limits.ts) and write no data. */
const NOT_WRITES = new Set(['authentication'])

/** Whether a call counts as a write: from a client (REST or socket.io), not a read, not authentication. */
export const isClientWrite = (context: Pick<HookContext, 'path' | 'method' | 'params'>): boolean =>
  Boolean(context.params.provider) && !READS.has(context.method) && !NOT_WRITES.has(context.path)

/**
 * Writes per user and per IP in a window (`rateLimits.writes`). One point per
 * call, whatever its size: what a call costs beyond its size is bounded here,
 * its size by `limits.requestBytes` and `batches.maxOperations`; and a client
 * can tell how many calls it has left without weighing them.
 */
export class WriteLimits {
  private readonly byUser: RateLimiterAbstract
  private readonly byIp: RateLimiterAbstract

  constructor(limits: RoostConfiguration['rateLimits']['writes'], create: LimiterFactory = memoryLimiters) {
    this.byUser = create({ keyPrefix: 'writes:user', points: limits.perUser, duration: limits.windowSeconds })
    this.byIp = create({ keyPrefix: 'writes:ip', points: limits.perIp, duration: limits.windowSeconds })
  }

  /** Takes a point per limit (the user's only if signed in); 429 naming the setting, and no point taken, when one is used up. */
  async count(userId: string | undefined, ip: string): Promise<void> {
    await take(
      [
        { limiter: this.byIp, key: ip, setting: 'rateLimits.writes.perIp' },
        ...(userId === undefined ? [] : [{ limiter: this.byUser, key: userId, setting: 'rateLimits.writes.perUser' }])
      ],
      'Too many writes'
    )
  }
}

/**
 * Counts every write from a client before anything of it runs: an app hook,
 * outside the services' own (authentication, validation, idempotency), so a
 * refused write changes nothing and is not remembered as an idempotent
 * answer. The user is the socket's (after its login) or the REST token's
 * subject, verified here (Roost caches verified tokens); an absent or invalid
 * token counts under the IP only, and the service answers 401 as usual.
 */
export const limitWrites = (app: Application) => {
  const limits = new WriteLimits(app.get('rateLimits').writes, app.get('limiters').create)
  return async (context: HookContext, next: NextFunction) => {
    if (isClientWrite(context)) await limits.count(await userOf(context), context.params.ip ?? 'unknown')
    await next()
  }
}

async function userOf(context: HookContext): Promise<string | undefined> {
  const { user, authentication } = context.params
  if (user?.id !== undefined) return String(user.id)
  const token = (authentication as { strategy?: unknown; accessToken?: unknown } | undefined)?.accessToken
  if (typeof token !== 'string') return undefined
  try {
    const { sub } = (await context.app.service('authentication').verifyAccessToken(token)) as { sub?: unknown }
    return typeof sub === 'string' && sub !== '' ? sub : undefined
  } catch {
    return undefined
  }
}
