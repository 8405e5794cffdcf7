/**
 * Keeps events in the order they were emitted on their way to sockets.
 *
 * Feathers sends an event when its publisher's promise resolves, so two
 * events whose publishers wait on different reads (the members of two
 * collections, one of them being re-read) can overtake each other: the
 * change events of one batch commit would reach a socket subscribed to both
 * collections out of staging order. Here every publisher still starts at once
 * (its reads run in parallel with the others'), but its answer is handed to
 * Feathers only after the answer of the event emitted before it. The cost:
 * an event waits at most for the reads of the events emitted before it,
 * never for anything emitted after it.
 *
 * Why it holds: Feathers subscribes to a publisher's promise synchronously,
 * inside the `emit` of its event, and sends to the sockets synchronously in
 * that subscription. The next event's turn subscribes to the same promise
 * later (in its own, later `emit`), so its reaction runs after Feathers'
 * has sent the previous event.
 */
export class PublishOrder {
  private last: Promise<unknown> = Promise.resolve()

  /** `publisher`, answering in emission order. (A bound function: it can be passed around alone.) */
  readonly ordered = <A extends unknown[], R>(publisher: (...args: A) => R | Promise<R>): ((...args: A) => Promise<R>) => {
    return (...args: A) => {
      let own: Promise<R>
      try {
        own = Promise.resolve(publisher(...args))
      } catch (error) {
        own = Promise.reject(error)
      }
      // Handled through `turn` later; marked now so an early failure is not an unhandled rejection.
      own.catch(() => undefined)
      // A failed publisher (Feathers logs it) must not hold up the ones after it.
      const turn = this.last.then(
        () => own,
        () => own
      )
      this.last = turn
      return turn
    }
  }
}
