/**
 * When to try again after a failure: exponential, capped, with full jitter
 * so that many clients coming back at once do not retry in step.
 */
export class Backoff {
  private failures = 0

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random
  ) {}

  /** The delay before the next try; `atLeastMs` honours a server's Retry-After. */
  next(atLeastMs = 0): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.failures)
    this.failures++
    return Math.max(atLeastMs, Math.round(ceiling / 2 + (this.random() * ceiling) / 2))
  }

  reset(): void {
    this.failures = 0
  }
}
