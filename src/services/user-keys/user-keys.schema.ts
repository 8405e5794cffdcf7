import { Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '../../validation.js'

/**
 * Binary values of the key routes: base64url without padding, of an exact
 * length. The server checks the alphabet and the length only; the client
 * checks the canonical form (src/client/crypto/base64url.ts) and everything
 * cryptographic: the server never holds a key it could check against.
 */
export const base64urlBytes = (bytes: number) => {
  const length = Math.ceil((bytes * 4) / 3)
  return Type.String({
    pattern: `^[A-Za-z0-9_-]{${length}}$`,
    description: `${length} base64url characters (${bytes} bytes, without padding)`
  })
}

/** A whole number both databases hold as a plain integer. */
const int32 = (minimum: number) => Type.Integer({ minimum, maximum: 2147483647 })

/**
 * The account secret encrypted under a key derived from a passphrase
 * (Argon2id, then AES-256-GCM; docs/ENCRYPTION.md). The server only stores
 * it, for its owner to fetch on a new device; the bounds keep the Argon2id
 * cost within what a client can be asked to pay.
 */
export const passphraseWrapSchema = Type.Object(
  {
    v: Type.Literal(1),
    kdf: Type.Literal('argon2id'),
    salt: base64urlBytes(16),
    /** Argon2id memory, KiB. */
    m: Type.Integer({ minimum: 19456, maximum: 1048576 }),
    t: Type.Integer({ minimum: 1, maximum: 10 }),
    p: Type.Integer({ minimum: 1, maximum: 4 }),
    /** AES-GCM nonce. */
    n: base64urlBytes(12),
    /** The 32-byte secret and the 16-byte tag. */
    c: base64urlBytes(48)
  },
  { $id: 'PassphraseWrap', additionalProperties: false }
)
export type PassphraseWrap = Static<typeof passphraseWrapSchema>

const passphraseWrapOrNull = Type.Union([passphraseWrapSchema, Type.Null()])

/**
 * A user's account public key (X25519). `passphraseWrap` is there only when
 * the key is the caller's own (null when they keep no passphrase copy).
 */
export const userKeySchema = Type.Object(
  {
    userId: Type.String(),
    publicKey: Type.String(),
    keyVersion: Type.Integer({ minimum: 1 }),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    passphraseWrap: Type.Optional(passphraseWrapOrNull)
  },
  { $id: 'UserKey', additionalProperties: false }
)
export type UserKey = Static<typeof userKeySchema>

/** Set or replace your key (`update`): compare-and-set on `baseKeyVersion` (0: no key yet). */
export const userKeyUpdateSchema = Type.Object(
  {
    publicKey: base64urlBytes(32),
    baseKeyVersion: int32(0),
    passphraseWrap: Type.Optional(passphraseWrapOrNull)
  },
  { $id: 'UserKeyUpdate', additionalProperties: false }
)
export type UserKeyUpdate = Static<typeof userKeyUpdateSchema>

/** Set or clear only the passphrase copy (`patch`). */
export const userKeyPatchSchema = Type.Object({ passphraseWrap: passphraseWrapOrNull }, { $id: 'UserKeyPatch', additionalProperties: false })
export type UserKeyPatch = Static<typeof userKeyPatchSchema>

export const userKeyUpdateValidator = dataValidator(userKeyUpdateSchema)
export const userKeyPatchValidator = dataValidator(userKeyPatchSchema)
