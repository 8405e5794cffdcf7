import { TooManyRequests } from '@feathersjs/errors'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { RoostConfiguration } from '../configuration.js'

/**
 * Makes the counter for one limit: in memory (one server), or in the Redis
 * several instances share (src/auth/limiter-store.ts), with the same options.
 */
export type LimiterFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract

export const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options)

type Limits = RoostConfiguration['rateLimits']

/** One limit of a request: the counter and the key this request counts under. */
export interface Count {
  limiter: RateLimiterAbstract
  key: string
  setting: string
}

/**
 * Sign-in limits, after rate-limiter-flexible's "login endpoint protection":
 * failures in a row for one address from one IP (a success clears them), and
 * failures per address and per IP. Keys are separate, so an attacker guessing
 * address A from IP X locks out A-from-X, then (after more failures) X and A
 * — never address B signing in from IP Y. Points are taken before the
 * password is checked, so concurrent guesses cannot overshoot the limit and
 * a refused attempt costs no hashing; a success gives them back.
 */
export class SignInLimits {
  private readonly byAddressAndIp: RateLimiterAbstract
  private readonly byAddress: RateLimiterAbstract
  private readonly byIp: RateLimiterAbstract

  constructor(limits: Limits['signIn'], create: LimiterFactory = memoryLimiters) {
    const duration = limits.windowSeconds
    this.byAddressAndIp = create({ keyPrefix: 'sign-in:address+ip', points: limits.failuresPerAddressAndIp, duration })
    this.byAddress = create({ keyPrefix: 'sign-in:address', points: limits.failuresPerAddress, duration })
    this.byIp = create({ keyPrefix: 'sign-in:ip', points: limits.failuresPerIp, duration })
  }

  /**
   * Counts an attempt as failed until `attempt` says otherwise: 429 (nothing
   * run) if a limit is reached; on success the failures in a row are cleared
   * and the other points returned; on an error that is not the client's
   * (`NotAuthenticated` is), the points are returned too.
   */
  async around<T>(address: string, ip: string, attempt: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    const counts: Count[] = [
      { limiter: this.byAddressAndIp, key: `${address} ${ip}`, setting: 'rateLimits.signIn.failuresPerAddressAndIp' },
      { limiter: this.byIp, key: ip, setting: 'rateLimits.signIn.failuresPerIp' },
      { limiter: this.byAddress, key: address, setting: 'rateLimits.signIn.failuresPerAddress' }
    ]
    const taken = await take(counts, 'Too many failed sign-ins')
    try {
      const result = await attempt()
      await Promise.all([this.byAddressAndIp.delete(counts[0].key), ...taken.slice(1).map(giveBack)])
      return result
    } catch (error) {
      if (!isFailure(error)) await Promise.all(taken.map(giveBack))
      throw error
    }
  }
}

/** Sign-up attempts per IP and per address, each counted whatever the outcome. */
export class SignUpLimits {
  private readonly byIp: RateLimiterAbstract
  private readonly byAddress: RateLimiterAbstract

  constructor(limits: Limits['signUp'], create: LimiterFactory = memoryLimiters) {
    this.byIp = create({ keyPrefix: 'sign-up:ip', points: limits.perIp, duration: limits.windowSeconds })
    this.byAddress = create({ keyPrefix: 'sign-up:address', points: limits.perAddress, duration: limits.windowSeconds })
  }

  async count(address: string, ip: string): Promise<void> {
    await take(
      [
        { limiter: this.byIp, key: ip, setting: 'rateLimits.signUp.perIp' },
        { limiter: this.byAddress, key: address, setting: 'rateLimits.signUp.perAddress' }
      ],
      'Too many sign-ups'
    )
  }
}

/**
 * Takes a point from each count in order. At the first that is used up, the
 * points already taken are given back (a refused attempt counts nowhere else,
 * so a locked key does not also drain the wider ones) and the answer is 429
 * naming the setting, with `retryAfterSeconds` (Retry-After over REST).
 */
export async function take(counts: Count[], what: string): Promise<Count[]> {
  const taken: Count[] = []
  for (const count of counts) {
    try {
      await count.limiter.consume(count.key)
      taken.push(count)
    } catch (error) {
      await Promise.all(taken.map(giveBack))
      if (!(error instanceof RateLimiterRes)) throw error
      const retryAfterSeconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000))
      throw new TooManyRequests(`${what}: try again in ${retryAfterSeconds} seconds (${count.setting})`, { retryAfterSeconds })
    }
  }
  return taken
}

const giveBack = (count: Count) => count.limiter.reward(count.key, 1)
