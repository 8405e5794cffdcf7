import { BadRequest } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations.js'
import { ID_PATTERN, ID_RULE } from '../ids.js'

/**
 * get/update/patch/remove: the id in the path must be a valid id (400
 * otherwise, not a 404). Without an id, patch and remove act on several items
 * only on services that say so (`multi: true`).
 */
export const requireValidId =
  ({ multi = false }: { multi?: boolean } = {}) =>
  async (context: HookContext, next: NextFunction) => {
    if (context.id !== undefined && context.id !== null && !ID_PATTERN.test(String(context.id))) {
      throw new BadRequest(`"id" ${JSON.stringify(String(context.id))} is not a valid id: ${ID_RULE}`)
    }
    if (context.id === null && context.method === 'update') throw new BadRequest('update needs the id of one item')
    if (context.id === null && !multi && (context.method === 'patch' || context.method === 'remove')) {
      throw new BadRequest(`${context.method} needs the id of one item`)
    }
    await next()
  }
