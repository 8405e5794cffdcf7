/**
 * A failed call, as the client sees it: a Feathers error answered by the
 * server (`code` its HTTP status), or code 0 when no answer came at all
 * (offline, connection lost, timeout): then the call may or may not have been
 * applied, and only an idempotency key makes retrying it safe.
 */
export class RoostError extends Error {
  readonly code: number
  readonly data: unknown
  /** Seconds the server asked us to wait (429, 503), when it said. */
  readonly retryAfterSeconds: number | null

  constructor(code: number, name: string, message: string, data?: unknown) {
    super(message)
    this.name = name
    this.code = code
    this.data = data
    const retry = (data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds
    this.retryAfterSeconds = typeof retry === 'number' ? retry : null
  }

  /** No answer: offline, dropped connection, timeout. */
  get isNetwork(): boolean {
    return this.code === 0
  }

  toJSON() {
    return { code: this.code, name: this.name, message: this.message, data: this.data }
  }
}

/**
 * Worth retrying later: no answer, or the server said "not now" (timeouts,
 * limits, overload, shutdown, a gateway in between).
 */
export const isTransient = (error: RoostError): boolean =>
  error.code === 0 || error.code === 408 || error.code === 429 || error.code >= 500

/** Anything thrown while calling (a bug in our own code included) as a RoostError. */
export const toRoostError = (error: unknown): RoostError => {
  if (error instanceof RoostError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new RoostError(0, 'NetworkError', message)
}

/** Bad input to the client API: thrown at once, before anything is written. */
export class ClientInputError extends TypeError {
  constructor(message: string) {
    super(message)
    this.name = 'ClientInputError'
  }
}
