import type { HookContext, NextFunction } from '../declarations.js'

/**
 * REST responses for one record carry `ETag: "<version>"`, the form If-Match
 * takes back. (socket.io clients read `version` from the record itself.)
 */
export const versionETag = () => async (context: HookContext, next: NextFunction) => {
  await next()
  const result = context.result as { version?: unknown } | unknown[] | undefined
  if (context.http && result && !Array.isArray(result) && typeof result.version === 'number') {
    context.http.headers = { ...context.http.headers, ETag: `"${result.version}"` }
  }
}
