import { RoostError, toRoostError } from './errors.js'
import type { ClientStore } from './stores/types.js'
import type { RestTransport } from './transport/rest.js'

/** How the client signs in: with e-mail and password (kept in memory only), or with a token the app got itself. */
export type AuthOptions = { email: string; password: string } | { accessToken: string }

interface StoredSession {
  accessToken: string
  userId: string
}

const SESSION = 'session'

/**
 * The access token: kept in the store so that a restarted app syncs
 * without signing in again (the password never is). A 401 signs in again
 * with the password when we have one; without one, the session is over.
 */
export class Session {
  private current: StoredSession | null = null
  private signingIn: Promise<void> | null = null

  constructor(
    private readonly store: ClientStore,
    private readonly rest: () => RestTransport,
    private readonly auth: AuthOptions
  ) {}

  get token(): string | null {
    return this.current?.accessToken ?? null
  }

  get userId(): string | null {
    return this.current?.userId ?? null
  }

  /** Loads the stored session, or signs in. Throws a RoostError (code 0 when offline). */
  async ensure(): Promise<void> {
    if (this.current) return
    const stored = await this.store.getMeta<StoredSession>(SESSION)
    if (stored && ('accessToken' in this.auth ? stored.accessToken === this.auth.accessToken : true)) {
      this.current = stored
      return
    }
    await this.signIn()
  }

  /** After a 401: sign in again if we can. Throws the 401 when we cannot. */
  async renew(error: RoostError): Promise<void> {
    if (!('email' in this.auth)) throw error
    const stale = this.current?.accessToken
    await (this.signingIn ??= this.signIn().finally(() => (this.signingIn = null)))
    if (this.current?.accessToken === stale) throw error
  }

  private async signIn(): Promise<void> {
    const body = 'email' in this.auth ? { strategy: 'local', email: this.auth.email, password: this.auth.password } : { strategy: 'jwt', accessToken: this.auth.accessToken }
    let answer: { accessToken: string; user?: { id: string }; authentication?: { payload?: { sub?: string } } }
    try {
      answer = await this.rest().call({ method: 'POST', path: 'authentication', body })
    } catch (caught) {
      throw toRoostError(caught)
    }
    const userId = answer.user?.id ?? answer.authentication?.payload?.sub
    if (!userId) throw new RoostError(500, 'GeneralError', 'The sign-in answer named no user')
    const stored = await this.store.getMeta<StoredSession>(SESSION)
    if (stored && stored.userId !== userId) {
      throw new RoostError(403, 'Forbidden', `This store holds the data of another user (${stored.userId}); open a store of its own for ${userId}`)
    }
    this.current = { accessToken: answer.accessToken, userId }
    await this.store.write([{ type: 'putMeta', key: SESSION, value: this.current }])
  }
}
