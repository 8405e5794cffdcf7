import { BadRequest } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations.js'

/** The deepest nesting of arrays and objects in a request body or query (the body itself is level 1). */
export const MAX_INPUT_DEPTH = 100

/** A "__proto__" key: refused everywhere, as REST's JSON parser does (src/http-errors.ts says the same). */
export const PROTO_KEY_MESSAGE = 'a "__proto__" key is not allowed anywhere in a request'

/**
 * Text that cannot be stored as it is: NUL (PostgreSQL's text refuses it)
 * and unpaired UTF-16 surrogates (both databases store UTF-8, so they would
 * come back as U+FFFD). With the `u` flag a proper surrogate pair is one code
 * point and does not match.
 */
const UNSTORABLE_TEXT = /[\u0000\p{Cs}]/u

/** Where a value sits, as a chain to its parent: the message's field name is built only on failure. */
interface Place {
  key: string | number
  parent: Place | undefined
}

const fieldName = (place: Place): string => {
  const keys: Array<string | number> = []
  for (let at: Place | undefined = place; at !== undefined; at = at.parent) keys.unshift(at.key)
  return keys.join('.')
}

/**
 * Record data (`data` of a record, `operations[].data` of a batch append) is
 * stored as JSON text, in which NUL and lone surrogates are escapes like any
 * other, so any JSON string is fine there; it is still bounded in depth and
 * free of "__proto__" keys.
 */
function isRecordData(path: string, place: Place): boolean {
  if (place.key !== 'data') return false
  const parent = place.parent
  if (path === 'collections/:collectionId/records') {
    // { data } or [{ data }, …]
    return parent?.parent === undefined || (typeof parent.key === 'number' && parent.parent.parent === undefined)
  }
  if (path === 'batches') {
    // { operations: [{ data }, …] }
    return typeof parent?.key === 'number' && parent.parent?.key === 'operations' && parent.parent.parent?.parent === undefined
  }
  return false
}

/**
 * Walks a request value without recursion (so that depth itself cannot
 * overflow the stack) and throws a 400 naming the first problem: nesting
 * deeper than MAX_INPUT_DEPTH, a "__proto__" key (or an object whose
 * prototype was set through one), or text that cannot be stored outside
 * record data.
 */
export function checkInputShape(value: unknown, root: string, servicePath: string): void {
  const rootPlace: Place = { key: root, parent: undefined }
  const stack: Array<{ value: unknown; depth: number; place: Place; opaque: boolean }> = [
    { value, depth: 0, place: rootPlace, opaque: false }
  ]
  while (stack.length > 0) {
    const { value: current, depth, place, opaque } = stack.pop()!
    if (typeof current === 'string') {
      if (!opaque && UNSTORABLE_TEXT.test(current)) {
        throw new BadRequest(`"${fieldName(place)}" contains a NUL character or an unpaired surrogate, which cannot be stored as text`)
      }
      continue
    }
    if (current === null || typeof current !== 'object') continue
    if (depth + 1 > MAX_INPUT_DEPTH) {
      throw new BadRequest(`"${root}" is nested more than ${MAX_INPUT_DEPTH} levels deep (the limit)`, { limit: MAX_INPUT_DEPTH })
    }
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, depth: depth + 1, place: { key: index, parent: place }, opaque }))
      continue
    }
    const prototype = Object.getPrototypeOf(current) as unknown
    if (prototype !== Object.prototype && prototype !== null) {
      // socket.io's own copy of the query (Object.assign) turns a "__proto__" key into a prototype.
      throw new BadRequest(`"${fieldName(place)}": ${PROTO_KEY_MESSAGE}`)
    }
    for (const key of Object.keys(current)) {
      const child: Place = { key, parent: place }
      if (key === '__proto__') throw new BadRequest(`"${fieldName(child)}": ${PROTO_KEY_MESSAGE}`)
      if (!opaque && UNSTORABLE_TEXT.test(key)) {
        throw new BadRequest(`"${fieldName(place)}" has a key with a NUL character or an unpaired surrogate, which cannot be stored as text`)
      }
      const childOpaque = opaque || (root === 'data' && isRecordData(servicePath, child))
      stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1, place: child, opaque: childOpaque })
    }
  }
}

/**
 * App-wide, first of all hooks, for calls from clients (REST and socket.io
 * alike): the id, body and query are checked for shape before validation,
 * authentication or anything recursive sees them.
 */
export const checkInput = async (context: HookContext, next: NextFunction) => {
  if (context.params.provider !== undefined) {
    const servicePath = context.path
    const { id } = context
    // Roost's ids are strings (numbers as REST would send them); socket.io could send any JSON value,
    // and turning a deep array into a string recurses.
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      throw new BadRequest('"id" must be a string')
    }
    if (typeof id === 'string' && UNSTORABLE_TEXT.test(id)) {
      throw new BadRequest('"id" contains a NUL character or an unpaired surrogate, which cannot be stored as text')
    }
    if (context.data !== undefined) checkInputShape(context.data, 'data', servicePath)
    if (context.params.query !== undefined) checkInputShape(context.params.query, 'query', servicePath)
    for (const [name, value] of Object.entries(context.params.route ?? {})) {
      if (typeof value === 'string' && UNSTORABLE_TEXT.test(value)) {
        throw new BadRequest(`"${name}" in the path contains a NUL character or an unpaired surrogate, which cannot be stored as text`)
      }
    }
  }
  await next()
}
