import { BadRequest } from '@feathersjs/errors'
import type { HookContext } from './declarations.js'
import { LOCK_TOKEN_HEADER, LOCK_TOKEN_QUERY } from './services/locks/locks.shared.js'

declare module '@feathersjs/feathers' {
  interface Params {
    /** The fencing token a write under an exclusive lock carries. */
    lockToken?: number
  }
}

const TOKEN_PATTERN = /^[1-9]\d{0,15}$/

/**
 * Before any validation (app.ts): takes a write's lock token out of the
 * `Lock-Token` header (REST) or `$lockToken` in the query (socket.io, whose
 * headers are the handshake's, shared by every call of the connection).
 */
export function takeLockToken(context: HookContext): void {
  const { query = {}, headers = {} } = context.params
  const { [LOCK_TOKEN_QUERY]: fromQuery, ...rest } = query as Record<string, unknown>
  const fromHeader = context.params.provider === 'rest' ? headers[LOCK_TOKEN_HEADER] : undefined
  const given = fromHeader ?? fromQuery
  if (given !== undefined) {
    const text = typeof given === 'number' ? String(given) : given
    if (typeof text !== 'string' || !TOKEN_PATTERN.test(text)) {
      throw new BadRequest('A lock token is the positive integer `token` of a lock (Lock-Token header or $lockToken)')
    }
    context.params = { ...context.params, query: rest, lockToken: Number(text) }
  }
}
