import type { HookContext, NextFunction } from '../declarations.js'

/** For services whose results must not go out as Feathers CRUD events. */
export const noCrudEvents = () => async (context: HookContext, next: NextFunction) => {
  await next()
  context.event = null
}
