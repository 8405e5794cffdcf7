import { authenticate } from '@feathersjs/authentication'
import { BadRequest, Forbidden } from '@feathersjs/errors'
import type { Application, HookContext, NextFunction } from '../../declarations.js'
import type { StoredUser } from '../../storage/types.js'
import type { EmailStrategy } from '../../authentication.js'
import { SignUpLimits } from '../../auth/rate-limits.js'
import { normaliseDataEmail } from '../../hooks/normalise-email.js'
import { validateData } from '../../validation.js'
import { toPublicUser, UserService } from './users.class.js'
import { userDataValidator, type UserData } from './users.schema.js'
import { userMethods, userPath } from './users.shared.js'

/** Sign-up can be switched off (`signup: false`, ROOST_SIGNUP=false). */
const checkSignupOpen = async (context: HookContext, next: NextFunction) => {
  if (context.params.provider && !context.app.get('signup')) throw new Forbidden('Sign-up is disabled on this server')
  await next()
}

/** One account per call: an array would pass item-by-item validation and reach create() as a whole. */
const oneAccountPerCall = async (context: HookContext<UserService>, next: NextFunction) => {
  if (Array.isArray(context.data)) throw new BadRequest('"data" must be an object: sign-up creates one account per call')
  await next()
}

/** Sign-ups from clients count against the limits per IP and per address (429 over them). */
const limitSignUp = (limits: SignUpLimits) => async (context: HookContext<UserService>, next: NextFunction) => {
  if (context.params.provider) await limits.count((context.data as UserData).email, context.params.ip ?? 'unknown')
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
  // The local strategy is registered by src/authentication.ts, configured before the services.
  const hashPassword = (password: string) => (app.service('authentication').getStrategy('local') as EmailStrategy).hashPassword(password)
  app.use(userPath, new UserService(app.get('storage'), hashPassword), { methods: [...userMethods], events: [] })
  app.service(userPath).hooks({
    around: {
      all: [protectPassword],
      get: [authenticate('jwt')],
      // The address is trimmed and lower-cased before validation, as PROTOCOL.md promises.
      create: [checkSignupOpen, oneAccountPerCall, normaliseDataEmail(), validateData(userDataValidator), limitSignUp(new SignUpLimits(app.get('rateLimits').signUp, app.get('limiters').create))]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [userPath]: UserService
  }
}
