import type { HookContext, NextFunction } from '../declarations.js'
import { normaliseEmail } from '../services/users/users.class.js'

/**
 * Trims and lower-cases `data.email` before validation, so that
 * `" Ada@Example.com "` is the address `ada@example.com` (as PROTOCOL.md
 * promises) instead of failing the e-mail format. Anything but a string is
 * left for validation to refuse.
 */
export const normaliseDataEmail = () => async (context: HookContext, next: NextFunction) => {
  const data = context.data as { email?: unknown } | undefined
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && typeof data.email === 'string') {
    context.data = { ...data, email: normaliseEmail(data.email) }
  }
  await next()
}
