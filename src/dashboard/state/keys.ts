import type { UserKey } from '../../services/user-keys/user-keys.shared.js'
import { RestTransport } from '../../client/transport/rest.js'
import { accessToken, session } from './session.js'

/**
 * What the server holds of my account keys: nothing (null), or the public
 * key, with or without a passphrase copy of the secret. The client library
 * tells only whether *this device* holds them (`roost.account.status()`);
 * the page also needs to know whether to offer "create" or "unlock".
 */
export async function serverKeyOfMine(): Promise<{ passphrase: boolean } | null> {
  const current = session.value
  if (!current) throw new Error('Not signed in')
  const rest = new RestTransport({ url: location.origin, token: accessToken, timeoutMs: 30_000 })
  try {
    const key = await rest.call<UserKey>({ method: 'GET', path: `user-keys/${encodeURIComponent(current.userId)}` })
    return { passphrase: key.passphraseWrap !== null && key.passphraseWrap !== undefined }
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return null
    throw error
  }
}
