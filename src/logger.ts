import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino'
import { currentRequest } from './request-context.js'

export type { Logger }

/**
 * JSON logs, one object a line, on stdout (or `destination`, for a test that
 * reads them). Request bodies and record data are never logged. Libraries
 * that would print their own text (knex, the pg driver) are routed here too
 * (storage/knex/connection.ts), so every line an operator sees parses as JSON.
 *
 * Every line written while serving a request or socket call carries its
 * `requestId` (and `connectionId` for sockets), from request-context.ts.
 * Secrets and record data are taken out twice: `redact` for fields a log
 * call names, and a scrubbing `err` serializer for whatever an error object
 * carries at any depth (a Feathers error's `data`, a hook context, headers).
 */
export const createLogger = (level: string, destination?: DestinationStream): Logger => {
  const options = {
    level,
    base: { service: 'roost' },
    mixin: requestFields,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    serializers: { err: scrubbedError }
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}

const REDACTED = '[Redacted]'

/** Keys whose values never reach a log, compared lower-case. `data` is record data; `hook` a Feathers hook context (params, data, result). */
const SECRET_KEYS = new Set([
  'password',
  'newpassword',
  'currentpassword',
  'accesstoken',
  'refreshtoken',
  'token',
  'locktoken',
  'authorization',
  'cookie',
  'set-cookie',
  'secret',
  'data',
  'bindings',
  'hook'
])

const REDACTED_PATHS = [
  ...['password', 'accessToken', 'refreshToken', 'token', 'authorization', 'data'].flatMap((key) => [key, `*.${key}`]),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie'
]

function requestFields(): Record<string, string> {
  const request = currentRequest()
  if (request === undefined) return {}
  return request.connectionId === undefined ? { requestId: request.requestId } : { requestId: request.requestId, connectionId: request.connectionId }
}

function scrubbedError(error: unknown): unknown {
  const serialized: unknown = error instanceof Error ? stdSerializers.err(error) : error
  return scrub(serialized, 0, new WeakSet())
}

/** A copy with every secret key's value replaced; deep structures are cut at a depth where nothing useful for an operator is left. */
function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (seen.has(value) || depth > 8) return '[…]'
  seen.add(value)
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen))
  const copy: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) copy[key] = SECRET_KEYS.has(key.toLowerCase()) ? REDACTED : scrub(item, depth + 1, seen)
  return copy
}
