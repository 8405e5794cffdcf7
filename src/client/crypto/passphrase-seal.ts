import { argon2id } from 'hash-wasm'
import { ClientInputError } from '../errors.js'
import { assertId } from '../ids.js'
import { toBase64url } from './base64url.js'
import { subtle } from './keys.js'
import { labelledData } from './labelled-data.js'
import { assertSecret } from './recovery-phrase.js'

/**
 * The passphrase copy of the account secret (docs/ENCRYPTION.md,
 * "Passphrase copy of the account secret (format v1)"), given the salt and
 * nonce. Kept apart from passphrase.ts so that the public entry point has no
 * way to pass them: a salt must be fresh for each copy and an AES-GCM nonce
 * never reused with a key. Only the test of the documented worked example
 * imports this with fixed ones.
 */

export const PASSPHRASE_FORMAT_VERSION = 1
export const AAD_LABEL = 'roost.passphrase'
export const SALT_BYTES = 16
export const NONCE_BYTES = 12
/** 32-byte secret + 16-byte tag. */
export const SEALED_BYTES = 48
/** Characters (Unicode code points, after NFKC) a passphrase must have at least. */
export const MIN_PASSPHRASE_CHARACTERS = 8

/** Argon2id cost: memory in KiB, passes over it, lanes. */
export interface Argon2Params {
  m: number
  t: number
  p: number
}

/**
 * The bounds of ENC_API's PassphraseWrap, which a reader enforces: the low
 * ones so that a server (or whoever edits its database) cannot talk a client
 * into weak parameters for the next copy it writes or make an offline guess
 * cheap, the high ones so that it cannot make a client allocate without end.
 * m ≥ 19456 KiB (19 MiB) is OWASP's floor for Argon2id (Password Storage
 * Cheat Sheet: m=19 MiB, t=2, p=1 and its equivalents).
 */
export const ARGON2_BOUNDS = { m: { min: 19_456, max: 1_048_576 }, t: { min: 1, max: 10 }, p: { min: 1, max: 4 } } as const

/**
 * Defaults: RFC 9106 §4's second recommended option (Argon2id, 64 MiB,
 * t=3), for where 2 GiB (its first option) is out of reach, as in a browser
 * tab or on a phone; and above OWASP's minimum of 19 MiB, t=2. p=1, not the
 * RFC's 4: hash-wasm runs Argon2 on one thread, so more lanes would cost the
 * user time without costing an attacker with many cores any more. About a
 * third of a second in Node here, once per unlock.
 */
export const DEFAULT_ARGON2: Argon2Params = { m: 65_536, t: 3, p: 1 }

/** The copy as the server stores it (ENC_API `PassphraseWrap`). */
export interface PassphraseWrap {
  v: 1
  kdf: 'argon2id'
  /** 16 random bytes, base64url: 22 characters. */
  salt: string
  /** Argon2id memory, KiB. */
  m: number
  /** Argon2id passes. */
  t: number
  /** Argon2id lanes. */
  p: number
  /** The 12-byte AES-GCM nonce, base64url: 16 characters. */
  n: string
  /** The sealed 32-byte secret with the 16-byte tag, base64url: 64 characters. */
  c: string
}

/** Whether `params` are within the format's bounds; the name of the first one that is not, or undefined. */
export function paramsOutOfBounds(params: Argon2Params): string | undefined {
  for (const name of ['m', 't', 'p'] as const) {
    const value: unknown = params[name]
    const { min, max } = ARGON2_BOUNDS[name]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return `${name} ${String(value)} is not an integer from ${min} to ${max}`
  }
  return undefined
}

/**
 * The passphrase as hashed: NFKC-normalized, then UTF-8. NFKC because the
 * same passphrase typed on two devices may arrive as different code points
 * (é as one character or as e + a combining accent, full-width letters from
 * an East Asian keyboard, a ligature from autocorrect), and the copy must
 * open on every device. Nothing else is changed (no trimming, no case
 * folding): those would throw away what the user chose.
 */
export function normalizePassphrase(passphrase: unknown): string {
  if (typeof passphrase !== 'string') throw new ClientInputError(`a passphrase is a string, got ${passphrase === null ? 'null' : typeof passphrase}`)
  const normalized = passphrase.normalize('NFKC')
  const characters = [...normalized].length
  if (characters < MIN_PASSPHRASE_CHARACTERS) {
    throw new ClientInputError(`a passphrase has at least ${MIN_PASSPHRASE_CHARACTERS} characters; this one has ${characters}`)
  }
  return normalized
}

/** AES-GCM associated data: "roost.passphrase" ‖ 0x01 ‖ u32be(len(userId)) ‖ userId. Binds the copy to its account. */
export const passphraseAad = (userId: string): Uint8Array<ArrayBuffer> => labelledData(AAD_LABEL, PASSPHRASE_FORMAT_VERSION, [{ text: userId }])

/** Argon2id(NFKC(passphrase), salt, params) → 32 bytes, as a non-extractable AES-256-GCM key. */
export async function passphraseKey(normalized: string, salt: Uint8Array, params: Argon2Params): Promise<CryptoKey> {
  const raw = await argon2id({
    password: new TextEncoder().encode(normalized),
    salt,
    memorySize: params.m,
    iterations: params.t,
    parallelism: params.p,
    hashLength: 32,
    outputType: 'binary'
  })
  return subtle().importKey('raw', new Uint8Array(raw), 'AES-GCM', false, ['encrypt', 'decrypt'])
}

export interface SealPassphraseParams {
  userId: string
  params: Argon2Params
  salt: Uint8Array
  nonce: Uint8Array
}

export async function sealSecret(secret: Uint8Array, passphrase: string, { userId, params, salt, nonce }: SealPassphraseParams): Promise<PassphraseWrap> {
  assertSecret(secret)
  const normalized = normalizePassphrase(passphrase)
  assertId(userId, 'userId')
  const bad = paramsOutOfBounds(params)
  if (bad !== undefined) throw new ClientInputError(`Argon2id parameters: ${bad} (the server stores nothing else)`)
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_BYTES) throw new ClientInputError(`a salt is ${SALT_BYTES} bytes`)
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new ClientInputError(`a nonce is ${NONCE_BYTES} bytes`)
  const key = await passphraseKey(normalized, salt, params)
  const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: new Uint8Array(nonce), additionalData: passphraseAad(userId), tagLength: 128 }, key, new Uint8Array(secret))
  const { m, t, p } = params
  return { v: PASSPHRASE_FORMAT_VERSION, kdf: 'argon2id', salt: toBase64url(salt), m, t, p, n: toBase64url(nonce), c: toBase64url(new Uint8Array(sealed)) }
}
