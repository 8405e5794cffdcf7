import { toRoostError } from './errors.js'
import { RestTransport } from './transport/rest.js'

export interface SignedInUser {
  /** The access token (a JWT, about a day long): `createRoost({ url, auth: { accessToken } })`. */
  accessToken: string
  user: { id: string; email: string }
}

/**
 * Signs in with e-mail and password (POST /authentication) and returns the
 * access token, for apps that keep the token rather than the password (a
 * page that must survive a reload). Fails with a RoostError: 401 for a wrong
 * e-mail or password, 429 when sign-ins from here are being limited.
 */
export async function signIn(url: string, email: string, password: string): Promise<SignedInUser> {
  const rest = new RestTransport({ url, token: () => null, timeoutMs: 30_000 })
  try {
    const answer = await rest.call<{ accessToken: string; user: { id: string; email: string } }>({
      method: 'POST',
      path: 'authentication',
      body: { strategy: 'local', email, password }
    })
    return { accessToken: answer.accessToken, user: { id: answer.user.id, email: answer.user.email } }
  } catch (caught) {
    throw toRoostError(caught)
  }
}
