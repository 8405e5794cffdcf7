import { BadRequest } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations.js'
import { PreconditionRequired } from '../errors.js'

/**
 * Every update, patch and remove names the version it is based on: `version`
 * in the body, `?version=` in the query, or an `If-Match: "<version>"` header
 * (the ETag of the record). Without one → 428; with two that disagree → 400.
 * The resolved number goes to `params.baseVersion`.
 */
export const requireBaseVersion = () => async (context: HookContext, next: NextFunction) => {
  const candidates = [
    ['body "version"', (context.data as { version?: number } | undefined)?.version],
    ['query "version"', (context.params.query as { version?: number } | undefined)?.version],
    ['If-Match header', parseIfMatch(context.params.headers?.['if-match'])]
  ] as const
  const given = candidates.filter(([, value]) => value !== undefined) as Array<readonly [string, number]>
  if (given.length === 0) {
    throw new PreconditionRequired(
      `This ${context.method} must name the version it is based on: "version" in the body, ?version= or an If-Match header`
    )
  }
  const [[, version]] = given
  const disagreeing = given.find(([, value]) => value !== version)
  if (disagreeing) throw new BadRequest(`${given[0][0]} and ${disagreeing[0]} name different versions`)

  const { version: _ignored, ...query } = (context.params.query ?? {}) as Record<string, unknown>
  context.params = { ...context.params, query, baseVersion: version }
  await next()
}

/** `"3"` (our ETags) or a bare 3. Weak tags and `*` name no version. */
function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined
  const value = (Array.isArray(header) ? header.join(',') : header).trim()
  const match = /^"?([1-9]\d{0,9})"?$/.exec(value)
  if (!match) throw new BadRequest(`If-Match must be one ETag of this record, like "3" (got ${JSON.stringify(value)})`)
  return Number(match[1])
}

declare module '@feathersjs/feathers' {
  interface Params {
    baseVersion?: number
  }
}
