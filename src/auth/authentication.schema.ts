import { BadRequest } from '@feathersjs/errors'
import { Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '../validation.js'

/** Sign-in with e-mail and password (`strategy: "local"`). The address is trimmed and lower-cased first. */
export const localAuthenticationSchema = Type.Object(
  {
    strategy: Type.Literal('local'),
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 })
  },
  { $id: 'LocalAuthentication', additionalProperties: false }
)

/** Authenticating a socket (or checking a token) with an access token (`strategy: "jwt"`). */
export const jwtAuthenticationSchema = Type.Object(
  {
    strategy: Type.Literal('jwt'),
    accessToken: Type.String({ minLength: 1, maxLength: 8192 })
  },
  { $id: 'JwtAuthentication', additionalProperties: false }
)

/** The body of `POST /authentication` (socket.io: `create` on `authentication`). */
export const authenticationDataSchema = Type.Union([localAuthenticationSchema, jwtAuthenticationSchema], { $id: 'AuthenticationData' })
export type AuthenticationData = Static<typeof authenticationDataSchema>

const validators = {
  local: dataValidator(localAuthenticationSchema),
  jwt: dataValidator(jwtAuthenticationSchema)
}

/**
 * Checks the body against the branch its `strategy` names. Validating the
 * union as a whole would report every branch's complaints at once ("must
 * be equal to constant", "is missing accessToken"…) for one wrong e-mail.
 */
export function validateAuthenticationData(data: unknown): asserts data is AuthenticationData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new BadRequest('"data" must be an object')
  const { strategy } = data as { strategy?: unknown }
  if (strategy !== 'local' && strategy !== 'jwt') {
    throw new BadRequest(`"data.strategy" must be "local" or "jwt"${strategy === undefined ? ' (it is missing)' : ''}`)
  }
  validators[strategy](data)
}
