import { authenticate } from '@feathersjs/authentication'
import { BadRequest, Forbidden } from '@feathersjs/errors'
import type { Application, HookContext, NextFunction } from '../../declarations.js'
import type { StoredUser } from '../../storage/types.js'
import type { EmailStrategy } from '../../authentication.js'
import { SignUpLimits } from '../../auth/rate-limits.js'
import { validateData } from '../../validation.js'
import { normaliseEmail, toPublicUser, UserService } from './users.class.js'
import { userDataValidator, type UserData } from './users.schema.js'
import { userMethods, userPath } from './users.shared.js'

/** Sign-up can be switched off (`signup: false`, ROOST_SIGNUP=false). */
const checkSignupOpen = async (context: HookContext, next: NextFunction) => {
  if (context.params.provider && !context.app.get('signup')) throw new Forbidden('Sign-up is disabled on this server')
  await next()
}

/**
 * Sign-up trims and lower-cases the address before it is validated, as
 * PROTOCOL.md promises (" Ada@Example.com " is ada@example.com, not a 400).
 */
const normaliseAddress = async (context: HookContext<UserService>, next: NextFunction) => {
  const data = context.data as unknown
  // One account per call: an array would pass item-by-item validation and reach create() as a whole.
  if (Array.isArray(data)) throw new BadRequest('"data" must be an object: sign-up creates one account per call')
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && typeof (data as { email?: unknown }).email === 'string') {
    const email = (data as { email: string }).email
    context.data = { ...(data as UserData), email: normaliseEmail(email) }
  }
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
      create: [checkSignupOpen, normaliseAddress, validateData(userDataValidator), limitSignUp(new SignUpLimits(app.get('rateLimits').signUp))]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [userPath]: UserService
  }
}
