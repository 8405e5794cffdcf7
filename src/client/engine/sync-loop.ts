import { RoostError, toRoostError } from '../errors.js'
import { Backoff } from './backoff.js'
import { FatalError } from './failures.js'

export interface LoopHooks {
  /** One full cycle: push, then pull every collection. Throws on failure. */
  cycle(): Promise<void>
  /** A failure worth retrying (shown in the status until the next success). */
  onTransient(error: RoostError): void
  onFatal(error: FatalError): void
  onSuccess(): void
  /** Whether the client may sync at all now (not stopped, not in a fatal state, leader tab). */
  active(): boolean
}

/**
 * Runs sync cycles one at a time. `kick()` asks for a cycle: at once if
 * idle, right after the current one otherwise. A failed cycle is retried on
 * a timer with backoff and jitter; a kick (a local write, a reconnect, the
 * browser going online, the page becoming visible) retries at once.
 */
export class SyncLoop {
  private running = false
  private current: Promise<void> = Promise.resolve()
  private again = false
  /** The last cycle failed and a retry timer waits: only a fresh kick (or the timer) tries before it. */
  private backingOff = false
  private againFresh = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private readonly backoff: Backoff

  constructor(private readonly hooks: LoopHooks, retry: { baseMs: number; maxMs: number }) {
    this.backoff = new Backoff(retry.baseMs, retry.maxMs)
  }

  /**
   * `fresh`: something changed for the better (reconnect, online, visible, an
   * explicit wait): forget the backoff and try at once. A plain kick (a local
   * write) while backing off waits for the retry timer: writes made offline
   * must not each hammer a server that is not there (and each plan a push of
   * its own: the timer's retry pushes them together).
   */
  kick(fresh = false): void {
    if (this.stopped) return
    if (fresh) {
      this.backoff.reset()
      this.backingOff = false
    } else if (this.backingOff) {
      return
    }
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (this.running) {
      this.again = true
      if (fresh) this.againFresh = true
      return
    }
    this.current = this.run()
  }

  /** Resolves when no cycle is running (at most a few seconds: a call in flight ends or times out). */
  async idle(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.current, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))])
    clearTimeout(timer)
  }

  /** Wake up after `ms` unless something kicks first (polling). */
  wakeAfter(ms: number): void {
    if (this.timer || this.running || this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.kick(true)
    }, ms)
  }

  /** Until `resume()`: no cycle starts and no timer is set (a cycle already running ends by itself). */
  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.again = false
  }

  resume(): void {
    this.stopped = false
  }

  private async run() {
    this.running = true
    try {
      do {
        this.again = false
        this.againFresh = false
        if (!this.hooks.active()) return
        try {
          await this.hooks.cycle()
          this.backingOff = false
          this.backoff.reset()
          this.hooks.onSuccess()
        } catch (caught) {
          if (caught instanceof FatalError) {
            this.hooks.onFatal(caught)
            return
          }
          const error = toRoostError(caught)
          this.hooks.onTransient(error)
          if (!this.againFresh && !this.stopped) {
            // Plain kicks that came during the failed cycle wait for the retry too.
            this.again = false
            this.backingOff = true
            const delay = this.backoff.next((error.retryAfterSeconds ?? 0) * 1000)
            this.timer = setTimeout(() => {
              this.timer = null
              this.backingOff = false
              this.kick()
            }, delay)
          }
        }
      } while (this.again)
    } finally {
      this.running = false
    }
  }
}
