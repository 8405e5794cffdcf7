import type { Application } from './declarations.js'

/** `$limit` (capped at `paginate.max`, `paginate.default` when absent) and `$skip` of a paginated find. */
export function pageOf(app: Application, query: { $limit?: number; $skip?: number } = {}): { limit: number; skip: number } {
  const { default: defaultLimit, max } = app.get('paginate')
  return { limit: Math.min(query.$limit ?? defaultLimit, max), skip: query.$skip ?? 0 }
}
