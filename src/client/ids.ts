import { ClientInputError } from './errors.js'

/** The server's id rule (docs/PROTOCOL.md, Overview): checked here so a bad id fails at once, offline too. */
const ID = /^(?!__proto__$)[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,127}$/

export function assertId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ClientInputError(
      `${what} ${JSON.stringify(id)} is not a valid id: 1–128 characters of A–Z a–z 0–9 _ - ~ . (not starting with ".", and not "__proto__")`
    )
  }
}

/** A random UUID v4: idempotency keys, batch ids, the client's holder id. */
export const uuid = (): string => globalThis.crypto.randomUUID()
