import { Conflict, NotFound } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import type { Storage, StoredUser } from '../../storage/types.js'
import type { User, UserData } from './users.schema.js'

export const toPublicUser = ({ id, email, createdAt }: StoredUser): User => ({ id, email, createdAt })

/**
 * Accounts: over the wire only `create` (sign-up) and `get` (yourself), and
 * the hooks strip the hash. Sign-in reads users from storage itself
 * (src/authentication.ts).
 */
export class UserService {
  /** The id field, as authentication expects of its entity service. */
  readonly id = 'id'

  /** `hashPassword`: the local strategy's (argon2id, off the event loop). */
  constructor(
    private readonly storage: Storage,
    private readonly hashPassword: (password: string) => Promise<string>
  ) {}

  async get(id: string, params: Params): Promise<StoredUser> {
    // Over the wire you may only read yourself; others are "not found".
    if (params.provider && params.user?.id !== id) throw new NotFound(`User "${id}" not found`)
    const user = await this.storage.getUser(id)
    if (!user) throw new NotFound(`User "${id}" not found`)
    return user
  }

  /**
   * A taken address is refused before the slow hash, so asking costs the
   * server nothing. (Its quick 409 tells that the account exists, but so does
   * the 409 itself: sign-up limits bound how fast one can ask.) Two sign-ups
   * racing for one address: the database's unique index refuses the second.
   */
  async create(data: UserData, _params: Params): Promise<StoredUser> {
    const email = normaliseEmail(data.email)
    if (await this.storage.findUserByEmail(email)) throw new Conflict('An account with this e-mail address already exists')
    return this.storage.createUser({ email, password: await this.hashPassword(data.password) }, new Date().toISOString())
  }
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase()
