import { createSecretKey, type KeyObject } from 'node:crypto'
import { AuthenticationService, JWTStrategy, type AuthenticationRequest } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import { LocalStrategy } from '@feathersjs/authentication-local'
import type { Params } from '@feathersjs/feathers'
import { validateAuthenticationData } from './auth/authentication.schema.js'
import { Passwords } from './auth/passwords.js'
import { SignInLimits } from './auth/rate-limits.js'
import type { Application, AuthenticatedUser, HookContext, NextFunction } from './declarations.js'
import { normaliseEmail, toPublicUser } from './services/users/users.class.js'

/**
 * E-mail + password. Passwords are argon2id (older bcrypt hashes still
 * verify and are replaced on the next sign-in), checked off the event loop.
 * An unknown address costs the same verification as a wrong password, so the
 * answer's timing does not tell whether an account exists.
 */
export class EmailStrategy extends LocalStrategy {
  constructor(readonly passwords: Passwords) {
    super()
  }

  /** The dummy hash for unknown addresses is made before the first sign-in, not during it. */
  async setup(): Promise<void> {
    await this.passwords.prepare()
  }

  override async hashPassword(password: string, _params?: Params): Promise<string> {
    return this.passwords.hash(password)
  }

  override async comparePassword(entity: { password?: unknown }, password: string): Promise<{ password?: unknown }> {
    const stored = typeof entity.password === 'string' ? entity.password : ''
    if (!(await this.passwords.verify(stored, password)).matches) throw new NotAuthenticated(this.configuration.errorMessage)
    return entity
  }

  /** The body was validated (src/auth/authentication.schema.ts): email and password are strings. */
  override async authenticate(data: AuthenticationRequest, _params: Params) {
    const { errorMessage, entity } = this.configuration
    const { email, password } = data as { email: string; password: string }
    const app = this.app as Application
    const storage = app.get('storage')
    const stored = await storage.findUserByEmail(normaliseEmail(email))
    if (stored === undefined) {
      await this.passwords.verifyNobody(password)
      throw new NotAuthenticated(errorMessage)
    }
    const { matches, outdated } = await this.passwords.verify(stored.password, password)
    if (!matches) throw new NotAuthenticated(errorMessage)
    if (outdated) {
      // The only moment the password is known: replace an old bcrypt (or cheaper) hash.
      // Failing to is no reason to refuse a correct password; it is tried again next time.
      await storage
        .setUserPassword(stored.id, await this.passwords.hash(password))
        .catch((error: unknown) => app.get('logger').warn({ err: error, userId: stored.id }, 'could not upgrade a password hash'))
    }
    return { authentication: { strategy: this.name ?? 'local' }, [entity]: toPublicUser(stored) }
  }
}

/**
 * Signs and verifies with the secret as a KeyObject made once. Given a string,
 * jsonwebtoken first tries (and fails) to parse it as a public key on every
 * verification: about a third of the CPU of a small authenticated request.
 */
class RoostAuthenticationService extends AuthenticationService {
  private key: KeyObject | undefined

  private get secretKey(): KeyObject {
    this.key ??= createSecretKey(Buffer.from(this.configuration.secret as string))
    return this.key
  }

  override async createAccessToken(payload: object, options?: object, secretOverride?: string) {
    return super.createAccessToken(payload, options, secretOverride ?? (this.secretKey as unknown as string))
  }

  private readonly verified = new Map<string, { payload: JwtPayload; until: number }>()

  /**
   * Tokens must expire: one without `exp` (signed with the server's key, but
   * not by Roost) would be valid forever, so it is refused. A token verified
   * once is remembered until it expires (at most a minute): checking the
   * signature again is a tenth of a small request's CPU, and the same token
   * comes with every request of a session. The key is the whole token,
   * signature included, so only a token that was verified hits. Only the
   * token is remembered, never its user: that is read on every call.
   */
  override async verifyAccessToken(accessToken: string, options?: object, secretOverride?: string) {
    if (options !== undefined || secretOverride !== undefined) {
      return requireExpiry((await super.verifyAccessToken(accessToken, options, secretOverride)) as JwtPayload)
    }
    const now = Date.now()
    const cached = this.verified.get(accessToken)
    if (cached !== undefined && cached.until > now) return cached.payload
    const payload = requireExpiry((await super.verifyAccessToken(accessToken, undefined, this.secretKey as unknown as string)) as JwtPayload)
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear()
    this.verified.set(accessToken, { payload, until: Math.min(payload.exp * 1000, now + VERIFIED_CACHE_MS) })
    return payload
  }
}

interface JwtPayload {
  exp?: number
  [claim: string]: unknown
}

function requireExpiry(payload: JwtPayload): JwtPayload & { exp: number } {
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw new NotAuthenticated('The access token has no expiry')
  return payload as JwtPayload & { exp: number }
}

const VERIFIED_CACHE_MS = 60_000
const VERIFIED_CACHE_SIZE = 10_000

/**
 * Finds the user of a token with one primary-key read on every call
 * (Feathers' JWT strategy calls the users service twice, hooks and all), so
 * a deleted or changed account is seen at once, over REST and on every call
 * of an authenticated socket. Services get the public user, never the hash.
 */
class UserJWTStrategy extends JWTStrategy {
  override async getEntity(id: string, _params: Params): Promise<AuthenticatedUser> {
    const stored = await (this.app as Application).get('storage').getUser(String(id))
    if (stored === undefined) throw new NotAuthenticated('The user of this token does not exist')
    return toPublicUser(stored)
  }
}

/** Every authentication body is checked before a strategy sees it: 400 naming the problem. */
const validateAuthentication = async (context: HookContext, next: NextFunction) => {
  validateAuthenticationData(context.data)
  await next()
}

/** Sign-in by password from a client counts against the limits (src/auth/rate-limits.ts). */
const limitSignIn = (limits: SignInLimits) => async (context: HookContext, next: NextFunction) => {
  const data = context.data as { strategy: string; email?: string }
  if (!context.params.provider || data.strategy !== 'local' || data.email === undefined) return next()
  await limits.around(normaliseEmail(data.email), context.params.ip ?? 'unknown', next, (error) => error instanceof NotAuthenticated)
}

/** `DELETE /authentication/:token` without a token of your own: 401, not a TypeError. */
const requireAuthentication = async (context: HookContext, next: NextFunction) => {
  if (!context.params.authentication) throw new NotAuthenticated('Not authenticated')
  await next()
}

/** JWT for every call; e-mail + password to get one (POST /authentication, strategy "local"). */
export const authentication = (app: Application) => {
  const service = new RoostAuthenticationService(app)
  service.register('jwt', new UserJWTStrategy())
  service.register('local', new EmailStrategy(new Passwords(app.get('authentication').local)))
  app.use('authentication', service)
  app.service('authentication').hooks({
    around: {
      create: [validateAuthentication, limitSignIn(new SignInLimits(app.get('rateLimits').signIn, app.get('limiters').create))],
      remove: [requireAuthentication]
    }
  })
}

declare module './declarations.js' {
  interface ServiceTypes {
    authentication: RoostAuthenticationService
  }
}
