import { Type } from '@feathersjs/typebox'

/**
 * Ids of collections and records: chosen by the client or generated (UUID v4).
 * URL-safe without escaping, so they can sit in a path as they are.
 */
export const ID_PATTERN = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,127}$/

export const idSchema = Type.String({
  pattern: ID_PATTERN.source,
  maxLength: 128,
  description: 'an id of 1–128 characters: letters, digits, "_", "-", "~" and (not first) "."'
})

/** A record version, as clients name it in versioned writes. */
export const versionSchema = Type.Integer({ minimum: 1, maximum: 2147483647 })
