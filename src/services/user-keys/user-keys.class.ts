import { Forbidden, NotFound } from '@feathersjs/errors'
import type { Id, Params } from '@feathersjs/feathers'
import { requireUser as user } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import type { StoredUserKey } from '../../storage/types.js'
import type { PassphraseWrap, UserKey, UserKeyPatch, UserKeyUpdate } from './user-keys.schema.js'

/**
 * A user's key as `viewerId` sees it: the passphrase copy is its owner's
 * alone (it is useless without the passphrase, but nobody else needs it, and
 * it would let them try passphrases offline).
 */
export const toUserKey = (key: StoredUserKey, viewerId: string): UserKey => {
  const { userId, publicKey, keyVersion, createdAt, updatedAt } = key
  const visible: UserKey = { userId, publicKey, keyVersion, createdAt, updatedAt }
  if (userId === viewerId) visible.passphraseWrap = (key.passphraseWrap as PassphraseWrap | null) ?? null
  return visible
}

/** The same 404 for "no key yet" and "no such user": a key lookup does not tell who exists. */
const noKey = (userId: string) => new NotFound(`User "${userId}" has no public key`)

/**
 * Account public keys (/user-keys), ids are user ids. Any signed-in user
 * reads anyone's public key (they are public by design, and user ids are
 * unguessable); only its owner sets, replaces or re-wraps it. Replacing is a
 * compare-and-set on the key version, as record writes are on theirs: a
 * second device replacing the key at the same moment gets a 409 with the
 * key now. Storage errors (409 with `data.current`, 404) become Feathers
 * errors in the app's one mapping (src/errors.ts).
 */
export class UserKeyService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async get(id: Id, params: Params): Promise<UserKey> {
    const key = await this.storage.getUserKey(String(id))
    if (key === undefined) throw noKey(String(id))
    return toUserKey(key, user(params).id)
  }

  async update(id: Id, data: UserKeyUpdate, params: Params): Promise<UserKey> {
    const me = this.owner(id, params)
    const key = await this.storage.putUserKey({
      userId: me,
      publicKey: data.publicKey,
      baseKeyVersion: data.baseKeyVersion,
      ...(data.passphraseWrap === undefined ? {} : { passphraseWrap: data.passphraseWrap }),
      at: nowIso(this.app)
    })
    return toUserKey(key, me)
  }

  async patch(id: Id, data: UserKeyPatch, params: Params): Promise<UserKey> {
    const me = this.owner(id, params)
    const key = await this.storage.setPassphraseWrap({ userId: me, passphraseWrap: data.passphraseWrap, at: nowIso(this.app) })
    return toUserKey(key, me)
  }

  /** Writes are for your own key only. */
  private owner(id: Id | null, params: Params): string {
    const me = user(params).id
    if (String(id) !== me) throw new Forbidden('Only its owner sets or changes a user\'s key')
    return me
  }
}
