import { createSecretKey, type KeyObject } from 'node:crypto'
import { AuthenticationService, JWTStrategy } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import { LocalStrategy } from '@feathersjs/authentication-local'
import type { Params } from '@feathersjs/feathers'
import type { Application, AuthenticatedUser } from './declarations.js'
import { normaliseEmail, toPublicUser } from './services/users/users.class.js'

/** E-mail addresses are matched case-insensitively, as they were stored at sign-up. */
class EmailStrategy extends LocalStrategy {
  override async findEntity(username: string, params: Params) {
    return super.findEntity(normaliseEmail(username), params)
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
   * A token verified once is remembered until it expires (at most a minute):
   * checking the signature again is a tenth of a small request's CPU, and the
   * same token comes with every request of a session. The key is the whole
   * token, signature included, so only a token that was verified hits.
   */
  override async verifyAccessToken(accessToken: string, options?: object, secretOverride?: string) {
    if (options !== undefined || secretOverride !== undefined) return super.verifyAccessToken(accessToken, options, secretOverride)
    const now = Date.now()
    const cached = this.verified.get(accessToken)
    if (cached !== undefined && cached.until > now) return cached.payload
    const payload = (await super.verifyAccessToken(accessToken, undefined, this.secretKey as unknown as string)) as JwtPayload
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear()
    const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : now
    this.verified.set(accessToken, { payload, until: Math.min(expires, now + VERIFIED_CACHE_MS) })
    return payload
  }
}

interface JwtPayload {
  exp?: number
  [claim: string]: unknown
}

const VERIFIED_CACHE_MS = 60_000
const VERIFIED_CACHE_SIZE = 10_000

/**
 * Finds the user of a token with one read (Feathers' JWT strategy calls the
 * users service twice, hooks and all, on every request) and keeps it for a few
 * seconds: accounts cannot be changed or deleted yet, so nothing goes stale.
 * Services get the public user, never the hash.
 */
class UserJWTStrategy extends JWTStrategy {
  private readonly cache = new Map<string, { user: AuthenticatedUser; until: number }>()

  override async getEntity(id: string, _params: Params): Promise<AuthenticatedUser> {
    const now = Date.now()
    const cached = this.cache.get(id)
    if (cached !== undefined && cached.until > now) return cached.user
    const stored = await (this.app as Application).get('storage').getUser(String(id))
    if (stored === undefined) throw new NotAuthenticated('The user of this token does not exist')
    const user = toPublicUser(stored)
    if (this.cache.size >= USER_CACHE_SIZE) this.cache.clear()
    this.cache.set(id, { user, until: now + USER_CACHE_MS })
    return user
  }
}

const USER_CACHE_MS = 5_000
const USER_CACHE_SIZE = 10_000

/** JWT for every call; e-mail + password to get one (POST /authentication, strategy "local"). */
export const authentication = (app: Application) => {
  const service = new RoostAuthenticationService(app)
  service.register('jwt', new UserJWTStrategy())
  service.register('local', new EmailStrategy())
  app.use('authentication', service)
}

declare module './declarations.js' {
  interface ServiceTypes {
    authentication: RoostAuthenticationService
  }
}
