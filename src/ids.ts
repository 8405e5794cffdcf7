import { Type } from '@feathersjs/typebox'

/**
 * Ids of collections and records: chosen by the client or generated (UUID v4).
 * URL-safe without escaping, so they can sit in a path as they are.
 *
 * Names of Object.prototype's properties (`constructor`, `toString`, …) are
 * ids like any other: routing (src/routing.ts) and maps keyed by ids (`byId`)
 * see only their own entries. `__proto__` alone is refused: ids are also keys
 * (a commit's `since` and `lockTokens`, a DELETE's `versions[<id>]`), and a
 * `__proto__` key is refused in every request (src/hooks/input-shape.ts;
 * REST's JSON parser and query parser refuse or drop it too), so a record or
 * collection with that id could not be used everywhere.
 */
export const ID_PATTERN = /^(?!__proto__$)[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,127}$/

export const ID_RULE = '1–128 characters of A–Z a–z 0–9 _ - ~ . (not starting with ".", and not "__proto__")'

export const idSchema = Type.String({
  pattern: ID_PATTERN.source,
  maxLength: 128,
  description: 'an id of 1–128 characters: letters, digits, "_", "-", "~" and (not first) "."; not "__proto__"'
})

/** A record version, as clients name it in versioned writes. */
export const versionSchema = Type.Integer({ minimum: 1, maximum: 2147483647 })

/**
 * The largest number a query takes for counts and offsets (`$skip`, `$limit`):
 * what both databases hold as a plain integer. Larger ones are a 400 naming
 * it, rather than a database error.
 */
export const MAX_QUERY_NUMBER = 2147483647
export const countSchema = Type.Integer({ minimum: 0, maximum: MAX_QUERY_NUMBER })

/**
 * `map[id]` for a map keyed by ids (from a request): only its own entries, so
 * an id such as `constructor` finds nothing rather than Object.prototype's.
 */
export const byId = <T>(map: Readonly<Record<string, T>> | undefined, id: string): T | undefined =>
  map !== undefined && Object.hasOwn(map, id) ? map[id] : undefined

/** A lock's fencing token as a client names it in a body: a positive whole number JavaScript holds exactly. */
export const lockTokenSchema = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
