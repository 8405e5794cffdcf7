import { randomBytes } from 'node:crypto'
import type { ClientApplication, PassphraseWrap, UserKey, WrappedKey } from '../../src/client.js'

/**
 * Key material for the key routes' tests. The server checks only shapes
 * (base64url of the right lengths), never cryptography, so random bytes of
 * the right sizes stand in for real keys here.
 */
export const b64 = (bytes: number): string => randomBytes(bytes).toString('base64url')

export const publicKey = (): string => b64(32)

export const wrappedKey = (): WrappedKey => ({ v: 1, enc: b64(32), c: b64(48) })

export const passphraseWrap = (): PassphraseWrap => ({ v: 1, kdf: 'argon2id', salt: b64(16), m: 65536, t: 3, p: 1, n: b64(12), c: b64(48) })

/** Sets (or replaces) a signed-in user's key through the API: the version after it. */
export async function putKey(client: ClientApplication, userId: string, baseKeyVersion = 0): Promise<UserKey> {
  return client.service('user-keys').update(userId, { publicKey: publicKey(), baseKeyVersion })
}

/** A wrapped key for each user, at the key version given. */
export const keysFor = (users: Array<{ userId: string; keyVersion: number }>) =>
  users.map(({ userId, keyVersion }) => ({ userId, keyVersion, wrappedKey: wrappedKey() }))
