import { BadRequest } from '@feathersjs/errors'
import { addFormats, Ajv } from '@feathersjs/schema'
import type { TSchema } from '@feathersjs/typebox'
import type { ErrorObject, ValidateFunction } from 'ajv'
import type { HookContext, NextFunction } from './declarations.js'

/**
 * Schema validation at the edge, with messages that name the offending field
 * (`"data.id" must match pattern …`) rather than Feathers' generic
 * "validation failed". Request bodies are not coerced; query strings are,
 * because REST sends every query value as a string.
 */
const dataAjv = addFormats(new Ajv({ allErrors: true, strict: false, verbose: true }), ['email', 'uuid'])
const queryAjv = addFormats(new Ajv({ allErrors: true, strict: false, verbose: true, coerceTypes: true }), ['email', 'uuid'])

const describe = (root: string, error: ErrorObject): string => {
  const field = [root, ...error.instancePath.split('/').slice(1)].join('.')
  if (error.keyword === 'additionalProperties') {
    return `"${field}" has an unknown field "${String(error.params.additionalProperty)}"`
  }
  if (error.keyword === 'required') return `"${field}" is missing "${String(error.params.missingProperty)}"`
  // Patterns are unreadable as messages: schemas with one carry a description.
  const description = (error.parentSchema as { description?: string } | undefined)?.description
  if (error.keyword === 'pattern' && description) return `"${field}" must be ${description}`
  return `"${field}" ${error.message ?? 'is invalid'}`
}

export function validationError(root: string, errors: ErrorObject[] | null | undefined): BadRequest {
  // anyOf/oneOf add one summary error per branch; the branch errors say more.
  const useful = (errors ?? []).filter((error) => !['anyOf', 'oneOf', 'if'].includes(error.keyword))
  const messages = [...new Set((useful.length > 0 ? useful : (errors ?? [])).map((error) => describe(root, error)))]
  return new BadRequest(messages.slice(0, 5).join('; ') || `"${root}" is invalid`, { errors: messages })
}

export interface Validator {
  (value: unknown, root?: string): void
}

const compile = (ajv: Ajv, schema: TSchema, defaultRoot: string): Validator => {
  const check: ValidateFunction = ajv.compile(schema)
  return (value, root = defaultRoot) => {
    if (!check(value)) throw validationError(root, check.errors)
  }
}

/** Most items one call may create, patch or remove at once. */
export const MAX_ITEMS = 1000

export const dataValidator = (schema: TSchema): Validator => compile(dataAjv, schema, 'data')
export const queryValidator = (schema: TSchema): Validator => compile(queryAjv, schema, 'query')

/** Validates (and, for queries, coerces in place) `context.data` or `context.params.query`. */
export const validateData =
  (validator: Validator) =>
  async (context: HookContext, next: NextFunction): Promise<void> => {
    if (Array.isArray(context.data)) {
      if (context.data.length === 0) throw new BadRequest('"data" must not be empty')
      if (context.data.length > MAX_ITEMS) throw new BadRequest(`"data" has ${context.data.length} items; at most ${MAX_ITEMS} are allowed`)
      context.data.forEach((item: unknown, index: number) => validator(item, `data.${index}`))
    } else {
      validator(context.data)
    }
    await next()
  }

export const validateQuery =
  (validator: Validator) =>
  async (context: HookContext, next: NextFunction): Promise<void> => {
    const query = { ...(context.params.query ?? {}) }
    validator(query)
    context.params = { ...context.params, query }
    await next()
  }
