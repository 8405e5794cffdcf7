import { BadRequest } from '@feathersjs/errors'
import koaQs from 'koa-qs'
import type { Application } from './declarations.js'
import { PROTO_KEY_MESSAGE } from './hooks/input-shape.js'

/**
 * The most parameters one REST query string may have: a multi-record DELETE
 * names up to 1000 ids (`versions[<id>]=<version>`), with room to spare for
 * the rest. More is a 400 (qs would otherwise drop the rest silently).
 */
export const QUERY_PARAMETER_LIMIT = 3000
/** The most items of one array in a query string (`id[$in][]=…`), as in bodies. */
export const QUERY_ARRAY_LIMIT = 1000

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Whether a parameter's name, decoded as qs would, contains "__proto__". */
const protoInNames = (querystring: string): boolean =>
  /proto/i.test(querystring) && querystring.split('&').some((part) => decoded(part.split('=', 1)[0]).includes('__proto__'))

/**
 * REST query strings, parsed by qs in its bracket syntax. Configure before `rest()`.
 *
 * - Names that are properties of Object.prototype (`versions[constructor]=3`,
 *   a record whose id is `constructor`) are kept as plain own keys
 *   (`allowPrototypes`) rather than dropped, so REST reads the same query as
 *   socket.io. qs never lets `__proto__` through; such a name is a 400
 *   here, as it is in bodies and over socket.io.
 * - koa-qs caches parsed queries in a plain object keyed by the query string,
 *   so `?constructor` would "find" Object's constructor there and use it as
 *   the query; the cache is given no prototype.
 */
export const queryStrings = (app: Application) => {
  koaQs(app as never, 'extended', {
    parameterLimit: QUERY_PARAMETER_LIMIT,
    arrayLimit: QUERY_ARRAY_LIMIT,
    depth: 5,
    throwOnLimitExceeded: true,
    allowPrototypes: true
  })
  const request = app.request as unknown as { _querycache?: object; querystring: string }
  const parsed = Object.getOwnPropertyDescriptor(request, 'query')
  if (parsed?.get === undefined) throw new Error('koa-qs did not install its query getter')
  const parse = parsed.get
  Object.defineProperty(request, 'query', {
    ...parsed,
    get(this: typeof request) {
      if (protoInNames(this.querystring)) throw new BadRequest(`The query string is refused: ${PROTO_KEY_MESSAGE}`)
      this._querycache ??= Object.create(null) as object
      return parse.call(this) as unknown
    }
  })
}
