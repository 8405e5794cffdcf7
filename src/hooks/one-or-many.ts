import { BadRequest } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '../declarations.js'

type Hook = (context: HookContext, next: NextFunction) => Promise<void>

/** Runs the `one` hooks for a call on one item and the `many` hooks for a call without an id. */
export const oneOrMany =
  (one: Hook[], many: Hook[]) =>
  async (context: HookContext, next: NextFunction): Promise<void> => {
    const chain = context.id === null ? many : one
    const run = async (index: number): Promise<void> =>
      index < chain.length ? chain[index](context, () => run(index + 1)) : next()
    await run(0)
  }

/** A call on several items takes an array (checked before the item schema, for a clear message). */
export const requireArray = (shape: string) => async (context: HookContext, next: NextFunction) => {
  if (!Array.isArray(context.data)) throw new BadRequest(`${context.method} without an id takes an array of ${shape}`)
  await next()
}

/** A call that takes one item refuses an array (which item-by-item validation would let through whole). */
export const requireObject = () => async (context: HookContext, next: NextFunction) => {
  if (Array.isArray(context.data)) throw new BadRequest(`"data" must be an object: ${context.method} takes one item`)
  await next()
}
