import { RestTransport } from './transport/rest.js'

/** Creates an account (POST /users). Fails with a RoostError: 409 if the address is taken, 403 if sign-up is off. */
export async function signUp(url: string, email: string, password: string): Promise<{ id: string; email: string }> {
  const rest = new RestTransport({ url, token: () => null, timeoutMs: 30_000 })
  return rest.call({ method: 'POST', path: 'users', body: { email, password } })
}
