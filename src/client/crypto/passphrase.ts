import { assertId } from '../ids.js'
import { fromBase64url } from './base64url.js'
import { InvalidPassphraseWrapError, WrongPassphraseError } from './errors.js'
import { subtle } from './keys.js'
import {
  DEFAULT_ARGON2,
  NONCE_BYTES,
  PASSPHRASE_FORMAT_VERSION,
  SALT_BYTES,
  SEALED_BYTES,
  normalizePassphrase,
  paramsOutOfBounds,
  passphraseAad,
  passphraseKey,
  sealSecret,
  type Argon2Params,
  type PassphraseWrap
} from './passphrase-seal.js'

/**
 * The passphrase copy of the account secret (docs/ENCRYPTION.md,
 * "Passphrase copy of the account secret (format v1)"): the 32-byte secret
 * sealed with AES-256-GCM under a key Argon2id derives from a passphrase, as
 * the small JSON object the server keeps for its user (ENC_API
 * `PassphraseWrap`). It lets a user unlock a new device with a passphrase
 * instead of the recovery phrase; the server never sees the passphrase or
 * the secret, and anyone who takes the copy must guess the passphrase
 * offline, one Argon2id run per guess.
 *
 * Used by `roost.account.setPassphrase` / `unlockWithPassphrase` (src/client/e2e/account.ts).
 */
export { InvalidPassphraseWrapError, WrongPassphraseError, type PassphraseWrapProblem } from './errors.js'
export { ARGON2_BOUNDS, DEFAULT_ARGON2, MIN_PASSPHRASE_CHARACTERS } from './passphrase-seal.js'
export type { Argon2Params, PassphraseWrap }

/**
 * The account secret sealed under `passphrase`, for account `userId`, with a
 * fresh random salt and nonce. `params` defaults to DEFAULT_ARGON2 (64 MiB,
 * t=3, p=1); tests and slow devices may pass cheaper ones within
 * ARGON2_BOUNDS. A passphrase of fewer than 8 characters (after NFKC), a
 * secret that is not 32 bytes or parameters out of bounds throw a
 * ClientInputError.
 */
export function wrapSecretWithPassphrase(secret: Uint8Array, passphrase: string, options: { userId: string; params?: Argon2Params }): Promise<PassphraseWrap> {
  subtle() // the clear "no WebCrypto here" error, before getRandomValues fails less clearly
  const random = (length: number) => globalThis.crypto.getRandomValues(new Uint8Array(length))
  return sealSecret(secret, passphrase, { userId: options?.userId, params: options?.params ?? DEFAULT_ARGON2, salt: random(SALT_BYTES), nonce: random(NONCE_BYTES) })
}

/**
 * The 32-byte account secret of `wrap` (as read from the server: `unknown`,
 * its shape is checked here, strictly), opened with `passphrase` for
 * account `userId`.
 *
 * Throws WrongPassphraseError when the passphrase does not open it (or its
 * bytes were changed, or it belongs to another account: AES-GCM cannot tell
 * these apart); InvalidPassphraseWrapError when it is not a v1 copy or its
 * Argon2id parameters are out of bounds (then no passphrase is tried);
 * ClientInputError for a passphrase under 8 characters (no copy is ever
 * made with one) or a bad userId.
 */
export async function unwrapSecretWithPassphrase(wrap: unknown, passphrase: string, options: { userId: string }): Promise<Uint8Array> {
  const userId = options?.userId
  assertId(userId, 'userId')
  const normalized = normalizePassphrase(passphrase)
  const { salt, nonce, sealed, params } = parseWrap(wrap)
  const key = await passphraseKey(normalized, salt, params)
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: passphraseAad(userId), tagLength: 128 }, key, sealed))
  } catch (error) {
    // WebCrypto's one answer to a failed tag check; anything else is not ours to hide.
    if ((error as { name?: unknown } | null)?.name === 'OperationError') throw new WrongPassphraseError()
    throw error
  }
}

const FIELDS = ['c', 'kdf', 'm', 'n', 'p', 'salt', 't', 'v']

/** The copy's parts, checked strictly: exactly its eight fields, canonical base64url, exact sizes, parameters within bounds. */
function parseWrap(wrap: unknown): { salt: Uint8Array<ArrayBuffer>; nonce: Uint8Array<ArrayBuffer>; sealed: Uint8Array<ArrayBuffer>; params: Argon2Params } {
  const malformed = (detail: string) => new InvalidPassphraseWrapError('malformed', detail)
  if (wrap === null || typeof wrap !== 'object' || Array.isArray(wrap)) throw malformed('not a JSON object')
  const fields = wrap as Record<string, unknown>
  // Version first: a newer format may have other fields.
  if (!Object.hasOwn(fields, 'v') || typeof fields.v !== 'number') throw malformed('no version "v"')
  if (fields.v !== PASSPHRASE_FORMAT_VERSION) throw new InvalidPassphraseWrapError('unsupported-version', `format version ${fields.v}; this client reads ${PASSPHRASE_FORMAT_VERSION}`)
  const keys = Object.keys(fields).sort()
  if (keys.length !== FIELDS.length || keys.some((k, index) => k !== FIELDS[index])) throw malformed('fields must be exactly v, kdf, salt, m, t, p, n, c')
  if (fields.kdf !== 'argon2id') throw malformed('"kdf" is not "argon2id"')
  const params = { m: fields.m, t: fields.t, p: fields.p } as Argon2Params
  const bad = paramsOutOfBounds(params)
  if (bad !== undefined) throw malformed(`Argon2id parameter ${bad}`)
  const bytes = (name: 'salt' | 'n' | 'c', length: number) => {
    const value = fields[name]
    const decoded = typeof value === 'string' ? fromBase64url(value) : undefined
    if (decoded?.length !== length) throw malformed(`"${name}" is not ${length} bytes of base64url`)
    return decoded
  }
  return { salt: bytes('salt', SALT_BYTES), nonce: bytes('n', NONCE_BYTES), sealed: bytes('c', SEALED_BYTES), params }
}
