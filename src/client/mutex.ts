/** A promise queue: `run` calls its functions one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn)
    // The queue goes on whether or not fn failed; the caller sees the failure.
    this.tail = result.catch(() => undefined)
    return result
  }
}
