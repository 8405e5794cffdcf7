import { ClientInputError } from './errors.js'
import type { Json } from './types.js'

/**
 * Checks that `value` is JSON that survives a round trip unchanged: null,
 * booleans, finite numbers, strings, arrays and plain objects of those.
 *
 * Everything a client keeps goes to the server as JSON, and the SQLite store
 * keeps it as JSON text; structured clone (memory, IndexedDB) would accept
 * more (BigInt, Date, Map, undefined) and so hide a value that breaks later,
 * far from the call that made it. So the stores and the client API fail such
 * a value at once, naming where it is: `assertJson(v, 'data')` throws
 * `TypeError: data.items[2].price is a BigInt …`.
 *
 * Strings with a NUL or a lone surrogate are fine: JSON.stringify escapes
 * them (\u0000, \ud800), so they come back as they were. Objects without a
 * prototype are accepted (they come back as plain objects, equal as data).
 * Shared (non-cyclic) references are accepted; they come back as copies.
 */
export function assertJson(value: unknown, what: string): asserts value is Json {
  check(value, what, new Set())
}

const ALLOWED = 'only null, booleans, finite numbers, strings, arrays and plain objects: JSON'

function fail(path: string, problem: string): never {
  throw new TypeError(`${path} ${problem} (${ALLOWED})`)
}

/** `ancestors` holds the objects on the way from the root to `value`: meeting one again is a cycle. */
function check(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) fail(path, `is ${value}`)
      return
    case 'undefined':
      fail(path, 'is undefined')
    case 'bigint':
      fail(path, 'is a BigInt')
    case 'symbol':
      fail(path, 'is a symbol')
    case 'function':
      fail(path, 'is a function')
  }
  if (value === null) return
  const object = value as object
  if (ancestors.has(object)) fail(path, 'refers back to an object that contains it (a cycle)')
  const prototype: unknown = Object.getPrototypeOf(object)
  ancestors.add(object)
  if (Array.isArray(object)) {
    if (prototype !== Array.prototype) fail(path, `is ${describe(object)}`)
    for (let index = 0; index < object.length; index++) {
      // A hole reads as undefined and would come back as null.
      if (!(index in object)) fail(`${path}[${index}]`, 'is a hole in a sparse array')
      check(object[index], `${path}[${index}]`, ancestors)
    }
  } else {
    if (prototype !== Object.prototype && prototype !== null) fail(path, `is ${describe(object)}`)
    // JSON.stringify drops symbol keys silently.
    if (Object.getOwnPropertySymbols(object).length > 0) fail(path, 'has a symbol key')
    for (const key of Object.keys(object)) check((object as Record<string, unknown>)[key], `${path}${member(key)}`, ancestors)
  }
  ancestors.delete(object)
}

/** `.name` for identifier-like keys, `["other key"]` for the rest. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

/** What kind of object it is: "a Date", "an ArrayBuffer", "a Point instance". */
function describe(object: object): string {
  const tag = Object.prototype.toString.call(object).slice(8, -1)
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name
  const named = typeof name === 'string' && name !== '' && name !== 'Object' && name !== 'Array' ? name : undefined
  if (Array.isArray(object)) return `an Array subclass${named === undefined ? '' : ` (${named})`}`
  if (tag !== 'Object') return withArticle(tag)
  return named === undefined ? 'an object whose prototype is not Object.prototype' : `${withArticle(named)} instance`
}

// "a Uint8Array" (you-int), "an Error".
const withArticle = (word: string) => `${/^(?:[AEIO]|U(?!int))/.test(word) ? 'an' : 'a'} ${word}`

/**
 * How deep record data may nest. The server refuses bodies nested more than
 * 100 levels (docs/PROTOCOL.md, "Shape of requests"), counting the body and,
 * in a batch append, `operations`, the operation and `data` itself: data
 * deeper than this would be refused at every push.
 */
const MAX_DEPTH = 96

/**
 * The check of data handed to the client API: JSON that round-trips
 * (assertJson), no `__proto__` key (the server refuses it anywhere) and at
 * most MAX_DEPTH levels. Fails with a ClientInputError, before anything is
 * written.
 */
export function assertRecordData(value: unknown, what: string): asserts value is Json {
  try {
    assertJson(value, 'data')
  } catch (error) {
    throw new ClientInputError(`${what} is not JSON: ${(error as Error).message}`)
  }
  const walk = (item: Json, path: string, depth: number): void => {
    if (item === null || typeof item !== 'object') return
    if (depth > MAX_DEPTH) throw new ClientInputError(`${what} is not JSON the server takes: ${path} nests more than ${MAX_DEPTH} levels`)
    if (Array.isArray(item)) return item.forEach((child, index) => walk(child, `${path}[${index}]`, depth + 1))
    for (const key of Object.keys(item)) {
      if (key === '__proto__') throw new ClientInputError(`${what} is not JSON the server takes: ${path} has a "__proto__" key, which the server refuses`)
      walk(item[key], `${path}.${key}`, depth + 1)
    }
  }
  walk(value, 'data', 1)
}

/** Whether two JSON values are the same value (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const other = b as unknown[]
    return a.length === other.length && a.every((item, index) => jsonEqual(item, other[index]))
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left)
  return keys.length === Object.keys(right).length && keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]))
}
