import { authenticate } from '@feathersjs/authentication'
import type { LocalStrategy } from '@feathersjs/authentication-local'
import { Forbidden } from '@feathersjs/errors'
import type { Application, HookContext, NextFunction } from '../../declarations.js'
import type { StoredUser } from '../../storage/types.js'
import { validateData } from '../../validation.js'
import { toPublicUser, UserService } from './users.class.js'
import { userDataValidator, type UserData } from './users.schema.js'
import { userMethods, userPath } from './users.shared.js'

/** Sign-up can be switched off (`signup: false`, ROOST_SIGNUP=false). */
const checkSignupOpen = async (context: HookContext, next: NextFunction) => {
  if (context.params.provider && !context.app.get('signup')) throw new Forbidden('Sign-up is disabled on this server')
  await next()
}

/** Slow hash (bcrypt, cost from authentication.local.hashSize) before anything is stored. */
const hashPassword = async (context: HookContext<UserService>, next: NextFunction) => {
  const local = context.app.service('authentication').getStrategy('local') as LocalStrategy
  const data = context.data as UserData
  context.data = { ...data, password: await local.hashPassword(data.password, context.params) }
  await next()
}

/** Whatever leaves over the wire is a public user; the hash stays inside. */
const protectPassword = async (context: HookContext<UserService>, next: NextFunction) => {
  await next()
  if (context.params.provider) {
    const result = context.result as StoredUser | StoredUser[]
    context.result = (Array.isArray(result) ? result.map(toPublicUser) : toPublicUser(result)) as unknown as StoredUser
  }
  // Never publish account events: they would carry the hash.
  context.event = null
}

export const users = (app: Application) => {
  app.use(userPath, new UserService(app.get('storage')), { methods: [...userMethods], events: [] })
  app.service(userPath).hooks({
    around: {
      all: [protectPassword],
      get: [authenticate('jwt')],
      create: [checkSignupOpen, validateData(userDataValidator), hashPassword]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [userPath]: UserService
  }
}
