import type { HookContext, NextFunction } from '../declarations.js'
import { PayloadTooLarge } from '../errors.js'
import { jsonBytes } from '../storage/json-text.js'

/**
 * Rejects a write whose `data` is over `limits.recordBytes` (bytes of its
 * JSON), naming the record and the limit, before anything is stored.
 */
export const limitRecordSize = () => async (context: HookContext, next: NextFunction) => {
  const limit = context.app.get('limits').recordBytes
  const items = (Array.isArray(context.data) ? context.data : [context.data]) as Array<{ id?: string; data?: unknown }>
  items.forEach((item, index) => {
    const bytes = jsonBytes(item.data)
    if (bytes > limit) {
      const which = item.id ?? context.id ?? (Array.isArray(context.data) ? `#${index}` : undefined)
      const record = which === undefined ? 'the new record' : `record ${String(which)}`
      throw new PayloadTooLarge(`"data" of ${record} is ${bytes} bytes; the limit is ${limit} bytes (limits.recordBytes)`, {
        limit,
        bytes
      })
    }
  })
  await next()
}
