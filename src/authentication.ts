import { createSecretKey, type KeyObject } from 'node:crypto'
import { AuthenticationService, JWTStrategy } from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import type { Params } from '@feathersjs/feathers'
import type { Application } from './declarations.js'
import { normaliseEmail } from './services/users/users.class.js'

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

  override async verifyAccessToken(accessToken: string, options?: object, secretOverride?: string) {
    return super.verifyAccessToken(accessToken, options, secretOverride ?? (this.secretKey as unknown as string))
  }
}

/** JWT for every call; e-mail + password to get one (POST /authentication, strategy "local"). */
export const authentication = (app: Application) => {
  const service = new RoostAuthenticationService(app)
  service.register('jwt', new JWTStrategy())
  service.register('local', new EmailStrategy())
  app.use('authentication', service)
}

declare module './declarations.js' {
  interface ServiceTypes {
    authentication: RoostAuthenticationService
  }
}
