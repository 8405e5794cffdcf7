import { MethodNotAllowed } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import type { Application } from './declarations.js'

/**
 * `POST /collections/c/records/r1` would reach `create` with the id silently
 * dropped (Feathers maps POST to create and create takes no id), creating a
 * record with a generated id. Refuse it instead.
 */
const rejectPostWithId: Middleware = async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.lookup?.params?.__id !== undefined) {
    throw new MethodNotAllowed(`POST takes no id in the path: POST to the parent path to create, PUT or PATCH to change ${ctx.path}`)
  }
  await next()
}

/** Adds the guards to every service's REST middleware. Configure before `rest()`. */
export const restGuards = (app: Application) => {
  app.mixins.push((_service, _path, options) => {
    options.koa = { ...options.koa, before: [rejectPostWithId, ...(options.koa?.before ?? [])] }
  })
}
