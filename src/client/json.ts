import { ClientInputError } from './errors.js'

/**
 * How deep record data may nest. The server refuses bodies nested more than
 * 100 levels (docs/PROTOCOL.md, "Shape of requests"), counting the body and,
 * in a batch append, `operations`, the operation and `data` itself: data
 * deeper than this would be refused at every push.
 */
const MAX_DEPTH = 96

/**
 * Checks that `value` is JSON that comes back from the server as it went
 * in: null, booleans, finite numbers, strings, arrays and plain objects,
 * nothing else anywhere inside (JSON.stringify would silently turn NaN into
 * null, a Date into a string, and drop undefined and functions), no cycles,
 * no `__proto__` key (refused by the server), at most MAX_DEPTH levels.
 */
export function assertJson(value: unknown, what: string): void {
  const fail = (path: string, problem: string): never => {
    throw new ClientInputError(`${what} is not JSON: ${path === '' ? 'the value' : path} ${problem}`)
  }
  const ancestors = new Set<object>()
  const check = (item: unknown, path: string, depth: number): void => {
    if (item === null || typeof item === 'string' || typeof item === 'boolean') return
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) fail(path, `is ${item}`)
      return
    }
    if (typeof item !== 'object') return void fail(path, `is ${item === undefined ? 'undefined' : `a ${typeof item}`}`)
    if (depth > MAX_DEPTH) fail(path, `nests more than ${MAX_DEPTH} levels`)
    if (ancestors.has(item)) fail(path, 'refers to itself (a cycle)')
    const isArray = Array.isArray(item)
    const prototype = Object.getPrototypeOf(item)
    if (!isArray && prototype !== Object.prototype && prototype !== null) fail(path, `is a ${(item as object).constructor?.name ?? 'non-plain object'}, not a plain object`)
    ancestors.add(item)
    if (isArray) {
      for (let index = 0; index < item.length; index++) check(item[index], `${path}[${index}]`, depth + 1)
    } else {
      if (Object.getOwnPropertySymbols(item).length > 0) fail(path, 'has symbol keys')
      for (const key of Object.keys(item)) {
        if (key === '__proto__') fail(path, 'has a "__proto__" key, which the server refuses')
        check((item as Record<string, unknown>)[key], `${path}.${key}`, depth + 1)
      }
    }
    ancestors.delete(item)
  }
  check(value, '', 1)
}
