import fc from 'fast-check'

/**
 * Generators for the fuzz suite: hostile calls to every service over REST
 * and socket.io. Values are built as a small JSON tree (`Json`) and written
 * out as text by `toJsonText`, so that a call can carry what a JavaScript
 * object cannot hold or a client library would not send: an own "__proto__"
 * key, 10,000 levels of nesting, a number JSON.parse turns into Infinity.
 */

/** An object as an ordered list of entries: "__proto__" stays a key like any other. */
export interface JsonObject {
  entries: Array<[string, Json]>
}
/** Arrays nested `levels` deep around 1, written out without recursion. */
export interface Deep {
  deep: number
}
/** A number written exactly as this text (`1e400`, `9223372036854775808`, `-0`). */
export interface RawNumber {
  raw: string
}
export type Json = null | boolean | number | string | Json[] | JsonObject | Deep | RawNumber

const isObject = (value: Json): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value) && 'entries' in value
const isDeep = (value: Json): value is Deep => typeof value === 'object' && value !== null && 'deep' in value
const isRaw = (value: Json): value is RawNumber => typeof value === 'object' && value !== null && 'raw' in value

export const obj = (entries: Record<string, Json> | Array<[string, Json]>): JsonObject => ({
  entries: Array.isArray(entries) ? entries : Object.entries(entries)
})

/** The JSON text of a value (generated values are shallow, except for `Deep`, which is written iteratively). */
export function toJsonText(value: Json): string {
  if (isDeep(value)) return `${'['.repeat(value.deep)}1${']'.repeat(value.deep)}`
  if (isRaw(value)) return value.raw
  if (isObject(value)) return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`).join(',')}}`
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null'
  return JSON.stringify(value)
}

/**
 * encodeURIComponent, except that an unpaired surrogate (which it refuses)
 * goes out as its three WTF-8 bytes: what a hostile client can send anyway.
 */
export function encodeAny(text: string): string {
  return text.replace(/[\p{Cs}]|[^\p{Cs}]+/gu, (part) => {
    if (!/^\p{Cs}$/u.test(part)) return encodeURIComponent(part)
    const unit = part.charCodeAt(0)
    return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('')
  })
}

/** A value as a query string in qs's bracket syntax (`a[b][0]=c`), the way REST clients send queries. */
export function toQueryString(value: Json): string {
  const parts: string[] = []
  const add = (name: string, item: Json, depth: number) => {
    if (isObject(item) && depth < 8) item.entries.forEach(([key, inner]) => add(name === '' ? key : `${name}[${key}]`, inner, depth + 1))
    else if (Array.isArray(item) && depth < 8) item.forEach((inner, index) => add(`${name}[${index}]`, inner, depth + 1))
    else if (name !== '') {
      const text = typeof item === 'string' ? item : item === null ? '' : isDeep(item) ? toJsonText({ deep: Math.min(item.deep, 50) }) : toJsonText(item)
      parts.push(`${encodeAny(name)}=${encodeAny(text)}`)
    }
  }
  if (isObject(value) || Array.isArray(value)) add('', value, 0)
  else parts.push(encodeAny(typeof value === 'string' ? value : toJsonText(value)))
  return parts.join('&')
}

/** Every name of Object.prototype, "__proto__" included. */
export const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype']

/** Text that has broken servers: NUL, lone surrogates, direction overrides, huge and odd strings. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udc00x',
  'x\ud83d',
  '\u202eevil',
  '\u200f\u05e9\u05dc\u05d5\u05dd',
  '🦆',
  '\ufeff',
  '\uffff',
  'a'.repeat(129),
  'b'.repeat(70_000),
  '%00',
  '%2F',
  '..',
  '.hidden',
  '../../etc/passwd',
  '$where',
  '$or',
  'null',
  'undefined',
  'true',
  'NaN',
  '-1',
  '1e20',
  '9223372036854775808',
  '{"a":1}',
  '[]',
  '<script>alert(1)</script>',
  "'; DROP TABLE records; --",
  ...PROTOTYPE_NAMES
]

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  // Lone surrogates and NUL mixed into ordinary text.
  { weight: 1, arbitrary: fc.array(fc.constantFrom('a', '\u0000', '\ud800', '\udfff', '\u202e', '🦆', '.'), { maxLength: 8 }).map((units) => units.join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
)

export const nastyNumber: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, 1e20, -1e20, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.constantFrom<Json>({ raw: '9223372036854775808' }, { raw: '1e400' }, { raw: '-0' }, { raw: '1E+2' }, { raw: '-9223372036854775809' }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

/** Keys that mean something to someone: operators, prototype names, the usual fields. */
const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '$where',
  '$or',
  '$and',
  '$in',
  '$nin',
  '$limit',
  '$skip',
  '$sort',
  '$select',
  '$regex',
  '$ne',
  '$gt',
  'id',
  'data',
  'version',
  'versions',
  'name',
  'email',
  'password',
  'strategy',
  'accessToken',
  'collectionId',
  'userId',
  'role',
  'status',
  'since',
  'limit',
  'lockTokens',
  'operations',
  'op',
  'holder',
  'mode',
  'ttl',
  'ttlSeconds',
  'waitSeconds',
  'deleted',
  '$lockToken',
  '$idempotencyKey',
  'a\u0000',
  '\ud800'
]

export const nastyKey: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: nastyString })

/** Any JSON value, shallow but hostile, with occasional very deep or very wide ones. */
export const nastyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    nastyString,
    fc.constantFrom<Json>({ deep: 101 }, { deep: 1000 }, { deep: 10_000 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(nastyKey, tie('value')), { maxLength: 4 }).map((entries) => obj(entries)),
    // Wide: many keys or items at once.
    fc.constantFrom<Json>(
      Array.from({ length: 1200 }, (_, index) => index),
      obj(Array.from({ length: 1200 }, (_, index) => [`k${index}`, index] as [string, Json]))
    )
  )
})).value

/** What a client may put where Roost expects an id. */
export const nastyId: fc.Arbitrary<Json> = fc.oneof(
  // The fixture's own things (the collection, record r1, batch b1, lock holder "device"), so that calls can reach them.
  { weight: 2, arbitrary: fc.constantFrom<Json>('{c}', 'r1', 'b1', 'device') },
  { weight: 4, arbitrary: nastyString },
  { weight: 1, arbitrary: nastyJson }
)

export type Method = 'find' | 'get' | 'create' | 'update' | 'patch' | 'remove' | 'append' | 'commit'
/** Names no service has as a method (REST: X-Service-Method; socket.io: the event name). */
export type OddMethod = 'constructor' | 'toString' | '__proto__' | 'setup' | 'hooks' | '_find' | 'announceChanges'

/** Each service path (`{c}` is the collection slot) with the methods it has. */
export const SERVICES: Array<{ path: string; methods: Array<Method | OddMethod> }> = [
  { path: 'users', methods: ['create', 'find', 'get', 'remove'] },
  { path: 'authentication', methods: ['create', 'remove'] },
  { path: 'collections', methods: ['find', 'get', 'create', 'patch', 'remove', 'update'] },
  { path: 'collections/{c}/records', methods: ['find', 'get', 'create', 'update', 'patch', 'remove'] },
  { path: 'collections/{c}/changes', methods: ['find', 'create'] },
  { path: 'subscriptions', methods: ['find', 'create', 'remove'] },
  { path: 'batches', methods: ['get', 'create', 'remove', 'append', 'commit'] },
  { path: 'collections/{c}/locks', methods: ['find', 'get', 'create', 'patch', 'remove'] },
  { path: 'collections/{c}/members', methods: ['find', 'get', 'create', 'patch', 'remove'] },
  { path: 'invitations', methods: ['find', 'get', 'create', 'patch', 'remove'] }
]

/** One hostile call. `collection` fills `{c}`: the fixture's id (undefined) or something else. */
export interface FuzzCall {
  path: string
  method: Method | OddMethod
  collection?: string
  id?: Json
  data?: Json
  query?: Json
}

/** Bodies shaped like the real ones, with one field gone wrong, so that calls get past the first check. */
const almostValidData: fc.Arbitrary<Json> = fc
  .tuple(
    fc.constantFrom<Array<[string, Json]>>(
      [['data', obj({ a: 1 })]],
      [['data', 1], ['version', 1]],
      [['id', 'r1'], ['data', 1]],
      [['name', 'x']],
      [['email', 'someone@example.com'], ['password', 'a long password']],
      [['strategy', 'local'], ['email', 'someone@example.com'], ['password', 'a long password']],
      [['collectionId', '{c}'], ['role', 'reader'], ['email', 'friend@example.com']],
      [['holder', 'device'], ['mode', 'exclusive']],
      [['userId', '00000000-0000-4000-8000-000000000000'], ['role', 'writer']],
      [['id', 'b1'], ['operations', [obj({ op: 'put', collectionId: '{c}', id: 'r9', ifNotExists: true, data: 1 })]]],
      [['id', 'b1'], ['since', obj({ '{c}': '0.x' })], ['lockTokens', obj({ '{c}': 1 })]],
      [['collectionId', '{c}']]
    ),
    nastyKey,
    nastyJson
  )
  .map(([entries, key, value]) => obj([...entries.filter(([name]) => name !== key), [key, value]]))

/** Paths no service has, or that look like one: prototype names, empty segments, extra segments. */
const ODD_SERVICES: Array<{ path: string; methods: Array<Method | OddMethod> }> = [
  'constructor',
  '__proto__',
  'toString',
  '',
  'collections/',
  '/collections',
  'collections//records',
  'collections/{c}/records/r1/extra',
  'collections/{c}/constructor',
  'collections/{c}/__proto__/records',
  'batches/b1',
  '..'
].map((path) => ({ path, methods: ['find', 'get', 'create', 'update', 'patch', 'remove', 'append', 'commit'] }))

const ODD_METHODS: OddMethod[] = ['constructor', 'toString', '__proto__', 'setup', 'hooks', '_find', 'announceChanges']

export const fuzzCall: fc.Arbitrary<FuzzCall> = fc
  .oneof(
    { weight: 12, arbitrary: fc.constantFrom(...SERVICES) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_SERVICES) },
    { weight: 1, arbitrary: fc.constantFrom(...SERVICES).map(({ path }) => ({ path, methods: ODD_METHODS })) }
  )
  .chain(({ path, methods }) =>
    fc.record(
      {
        path: fc.constant(path),
        method: fc.constantFrom(...methods),
        collection: fc.option(nastyString, { nil: undefined, freq: 3 }),
        id: fc.option(nastyId, { nil: undefined, freq: 4 }),
        data: fc.option(fc.oneof(almostValidData, nastyJson), { nil: undefined, freq: 6 }),
        query: fc.option(fc.oneof(fc.array(fc.tuple(nastyKey, nastyJson), { maxLength: 3 }).map((entries) => obj(entries)), nastyJson), {
          nil: undefined,
          freq: 3
        })
      },
      { requiredKeys: ['path', 'method'] }
    )
  )
