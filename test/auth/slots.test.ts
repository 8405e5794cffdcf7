import { describe, expect, it } from 'vitest'
import { hashingSlots, Slots } from '../../src/auth/slots.js'

/** The bound on concurrent password hashing (src/auth/slots.ts): what keeps libuv's pool free for everyone else. */
describe('Slots', () => {
  it('runs at most `size` tasks at once, the others in the order they came, and passes errors through', async () => {
    const slots = new Slots(2)
    let running = 0
    let most = 0
    const started: number[] = []
    const task = (n: number) => async () => {
      started.push(n)
      running += 1
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running -= 1
      if (n === 3) throw new Error('task 3 failed')
      return n
    }
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => slots.run(task(n))))
    expect(most).toBe(2)
    expect(started).toEqual([1, 2, 3, 4, 5, 6])
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message))).toEqual([1, 2, 'task 3 failed', 4, 5, 6])
    // A failed task gave its slot back: two more run side by side.
    running = 0
    most = 0
    await Promise.all([slots.run(task(7)), slots.run(task(8))])
    expect(most).toBe(2)
  })

  it('leaves libuv at least one thread and the event loop a core, and is never zero', () => {
    const size = hashingSlots()
    expect(size).toBeGreaterThanOrEqual(1)
    expect(size).toBeLessThanOrEqual(Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1))
  })
})
