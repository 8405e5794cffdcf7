import { isoAfter, nowIso } from './clock.js'
import type { Application } from './declarations.js'

/**
 * Cleans up on its own: open batches past their time-to-live become expired
 * (their staged operations are dropped), finished batches older than
 * `batches.retentionSeconds` and expired idempotency keys are deleted.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly app: Application) {}

  start(): void {
    const every = this.app.get('sweepIntervalSeconds') * 1000
    this.timer = setInterval(() => {
      this.run().catch((error: unknown) => this.app.get('logger').warn({ err: error }, 'sweep failed'))
    }, every)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  async run() {
    const retention = this.app.get('batches').retentionSeconds
    const result = await this.app.get('storage').purgeExpired(nowIso(this.app), isoAfter(this.app, -retention))
    if (Object.values(result).some((count) => count > 0)) this.app.get('logger').debug(result, 'swept')
    return result
  }
}
