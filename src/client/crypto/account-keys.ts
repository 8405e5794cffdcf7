import { x25519 } from '@noble/curves/ed25519.js'
import { subtle } from './keys.js'
import { SECRET_BYTES, assertSecret, phraseToSecret } from './recovery-phrase.js'

/**
 * Account keys (issue 16; docs/ENCRYPTION.md, "Account keys (format v1)").
 *
 * A user's account is one random 32-byte secret, made on their first
 * device. Everything else is derived from it with HKDF-SHA-256, so the
 * secret alone — as a recovery phrase — restores all of it on another
 * device, byte for byte:
 *
 * - an X25519 key pair, whose public half the server will store so that
 *   members can wrap collection keys for this user;
 * - a wrapping key (AES-256-GCM) for the account's own secrets, such as
 *   collection keys kept for its other devices.
 *
 * X25519 comes from @noble/curves rather than WebCrypto: WebCrypto cannot
 * import a raw X25519 private key everywhere (only PKCS#8/JWK, and not in
 * every browser), and derivation must give the same pair on every platform.
 *
 * Used by the client's key ring (src/client/e2e/): the secret is what
 * `roost.account` exports as a phrase and keeps on the device.
 */
export { InvalidRecoveryPhraseError, recoveryPhrase, type RecoveryPhraseProblem } from './recovery-phrase.js'
export { fingerprint } from './fingerprint.js'
export { checkKnownKey, type KnownKeyStatus, type UserPublicKey } from './known-keys.js'

export const KEY_FORMAT_VERSION = 1
/** HKDF salt: fixed, so a derivation is a function of the secret alone (the secret is already uniformly random). */
export const HKDF_SALT = 'roost.account.v1'
/** HKDF `info` of each derived key; distinct, so no two keys share bytes. */
export const HKDF_INFO = {
  x25519: 'roost.account.v1 x25519-private-key',
  wrappingKey: 'roost.account.v1 aes-256-gcm-wrapping-key'
} as const

export interface AccountKeys {
  /** The 32-byte account secret. Everything else derives from it; the recovery phrase encodes it. Keep it off the server. */
  readonly secret: Uint8Array
  /** X25519 private key, 32 bytes (clamped by X25519 when used, as RFC 7748 says). */
  readonly privateKey: Uint8Array
  /** X25519 public key, 32 bytes: what the server stores and others fingerprint. */
  readonly publicKey: Uint8Array
  /**
   * AES-256-GCM key for the account's own secrets. Non-extractable: a
   * script in the page can use it while the page is open but not copy it
   * away; it is re-derived from the secret when needed elsewhere.
   */
  readonly wrappingKey: CryptoKey
}

/** A new account: a fresh random secret from the platform's secure generator, and the keys derived from it. */
export async function createAccountKeys(): Promise<AccountKeys> {
  subtle() // the clear "no WebCrypto here" error, before getRandomValues fails less clearly
  return deriveAccountKeys(globalThis.crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))
}

/**
 * The account keys of a recovery phrase (whitespace and case do not
 * matter). Throws InvalidRecoveryPhraseError when the phrase has the wrong
 * number of words, a word not in the list, or a bad checksum.
 */
export async function importRecoveryPhrase(phrase: string): Promise<AccountKeys> {
  return deriveAccountKeys(phraseToSecret(phrase))
}

/** The keys of an account secret; the same secret gives the same keys on every platform. */
export async function deriveAccountKeys(secret: Uint8Array): Promise<AccountKeys> {
  assertSecret(secret)
  const copy = new Uint8Array(secret) // the caller's array may change; ours must not
  const base = await subtle().importKey('raw', copy, 'HKDF', false, ['deriveBits', 'deriveKey'])
  const privateKey = new Uint8Array(await subtle().deriveBits(hkdf(HKDF_INFO.x25519), base, 256))
  const wrappingKey = await subtle().deriveKey(hkdf(HKDF_INFO.wrappingKey), base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
  return { secret: copy, privateKey, publicKey: x25519.getPublicKey(privateKey), wrappingKey }
}

function hkdf(info: string): HkdfParams {
  const encoder = new TextEncoder()
  return { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(HKDF_SALT), info: encoder.encode(info) }
}
