import { availableParallelism } from 'node:os'

/**
 * At most `size` tasks at once; the rest wait their turn, in order.
 *
 * Password hashing runs on libuv's thread pool, which also serves every file
 * system call (koa-static looks for a file on each GET before the routes
 * run). Sixteen concurrent sign-ins would fill all its threads (4 by default)
 * and every other request would wait for a hash to finish before its file
 * check: reads went from 2 ms to 150 ms. So hashes get fewer threads than the
 * pool has, and fewer than the machine has cores, leaving the event loop a core.
 */
export class Slots {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor(readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running += 1
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      // The slot passes straight to the next task; `running` only drops when nobody waits.
      if (next) next()
      else this.running -= 1
    }
  }
}

/** Threads password hashing may use at once: one fewer than libuv's pool and than the cores, at least one. */
export function hashingSlots(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4
  return Math.max(1, Math.min(pool - 1, availableParallelism() - 1))
}
