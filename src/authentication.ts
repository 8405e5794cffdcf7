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

/** JWT for every call; e-mail + password to get one (POST /authentication, strategy "local"). */
export const authentication = (app: Application) => {
  const service = new AuthenticationService(app)
  service.register('jwt', new JWTStrategy())
  service.register('local', new EmailStrategy())
  app.use('authentication', service)
}

declare module './declarations.js' {
  interface ServiceTypes {
    authentication: AuthenticationService
  }
}
