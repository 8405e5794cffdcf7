import { BadRequest, FeathersError, NotFound } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import { PayloadTooLarge, toClientError } from './errors.js'
import { PROTO_KEY_MESSAGE } from './hooks/input-shape.js'
import type { Logger } from './logger.js'
import { QUERY_ARRAY_LIMIT, QUERY_PARAMETER_LIMIT } from './query-string.js'

/**
 * The last word on every REST error. Replaces @feathersjs/koa's errorHandler,
 * which would send the raw message of any non-Feathers error: body-parser
 * failures become clean 4xx, anything unexpected a bare 500 (logged here with
 * its details, never sent).
 */
export const httpErrors =
  (logger: Logger): Middleware =>
  async (ctx, next) => {
    try {
      await next()
      // Nothing answered: Koa's status is still its default 404. A status set without a body (a CORS preflight's 204) is an answer.
      if (ctx.body === undefined && ctx.status === 404) throw new NotFound(`Path ${ctx.path} not found`)
    } catch (error) {
      const clientError = fromHttpError(error, ctx.request.length)
      if (clientError.code >= 500) logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed')
      ctx.response.status = clientError.code
      const retryAfter = retryAfterSeconds(clientError)
      if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter))
      ctx.body = clientError.toJSON()
    }
  }

/**
 * 429 and 503 say when to come back: an error whose `data.retryAfterSeconds`
 * is a number gets a `Retry-After` header (whole seconds, at least 1). The
 * same field reaches socket.io clients in the error's `data`.
 */
export function retryAfterSeconds(error: FeathersError): number | undefined {
  const seconds = (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined
}

/** Errors from the HTTP layer itself (koa-body, koa) carry a `status`. */
function fromHttpError(error: unknown, length: number | undefined): FeathersError {
  if (error instanceof FeathersError) return toClientError(error)
  const { status, type } = (error ?? {}) as { status?: number; type?: string }
  if (status === 413 || type === 'entity.too.large') {
    return new PayloadTooLarge(`The request body${length ? ` (${length} bytes)` : ''} is over the server's limit (limits.requestBytes)`)
  }
  if (error instanceof RangeError && /limit exceeded/i.test(error.message)) {
    return new BadRequest(
      `The query string has too many parameters or array items (at most ${QUERY_PARAMETER_LIMIT} parameters and ${QUERY_ARRAY_LIMIT} array items)`
    )
  }
  // The JSON parser (bourne, protoAction "error") refuses "__proto__" keys; socket.io gets the same words from src/hooks/input-shape.ts.
  if (error instanceof SyntaxError && /forbidden prototype property/.test(error.message)) {
    return new BadRequest(`The request body is refused: ${PROTO_KEY_MESSAGE}`)
  }
  if (type === 'entity.parse.failed' || (error instanceof SyntaxError && status === 400)) return new BadRequest('The request body is not valid JSON')
  if (type === 'encoding.unsupported' || status === 415) return new BadRequest('The request body has an unsupported encoding or content type')
  // zlib (Z_DATA_ERROR, Z_BUF_ERROR…) or brotli (ERR__ERROR_FORMAT_…) failing on a Content-Encoding body.
  const { code } = (error ?? {}) as { code?: unknown }
  if (typeof code === 'string' && /^(Z_|ERR__ERROR_)/.test(code)) {
    return new BadRequest('The request body does not match its Content-Encoding (it cannot be decompressed)')
  }
  // The static file server (for paths no service answered) cannot decode this one, or refuses it (NUL, "..", an absolute path).
  const { message } = (error ?? {}) as { message?: unknown }
  if (status === 400 && (message === 'failed to decode' || message === 'Malicious Path')) {
    return new BadRequest('The request path is not valid (malformed percent-encoding, a NUL character, "//" or "..")')
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A client mistake the HTTP layer caught: keep its status, not its wording.
    return new FeathersError(`The request was rejected (HTTP ${status})`, 'BadRequest', status, 'bad-request', undefined)
  }
  return toClientError(error)
}
