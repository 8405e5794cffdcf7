import { DecapError, DeserializeError, OpenError } from '@hpke/core'
import { x25519 } from '@noble/curves/ed25519.js'
import { ClientInputError } from '../errors.js'
import { fromBase64url } from './base64url.js'
import { KeyUnwrapError } from './errors.js'
import {
  ENC_BYTES,
  HPKE_INFO,
  SEALED_BYTES,
  WRAP_FORMAT_VERSION,
  assertKeyContext,
  assertKeyPair,
  assertRecipientRef,
  assertWrappedBy,
  bytesOf,
  collectionKeyAad,
  hpkeSuite,
  sealCollectionKey,
  type KeyContext,
  type WrapRecipient,
  type WrapSender,
  type WrappedBy,
  type WrappedKey
} from './key-wrap-seal.js'
import { KEY_BYTES } from './keys.js'

/**
 * Collection keys wrapped for members (docs/ENCRYPTION.md, "Wrapped
 * collection keys (format v1)"): a collection key of one epoch, sealed with
 * HPKE (RFC 9180, Auth mode) to one member's X25519 public key by another
 * member's (or their own) account key pair, as the small JSON object the
 * server stores with the membership (ENC_API `WrappedKey`). The server can
 * serve it to that member but cannot open it, nor move it to another
 * collection, epoch, member or key version without the opening failing;
 * and, since the server knows every public key but no private one, it
 * cannot make one itself: a key epoch of its own, a key it knows wrapped
 * for everyone, would let it read all written afterwards.
 *
 * Keys travel as raw bytes here: the device that makes or re-wraps a key
 * needs them; a device that only reads and writes records turns the
 * unwrapped bytes into a non-extractable CryptoKey with importKeyRaw (keys.ts)
 * and drops them.
 *
 * Used by the client's key ring and sharing (src/client/e2e/).
 */
export { KeyUnwrapError, type KeyUnwrapReason } from './errors.js'
export { importKeyRaw } from './keys.js'
export type { KeyContext, WrapRecipient, WrapSender, WrappedBy, WrappedKey }

/** This user, opening keys wrapped for them: their account's X25519 pair (account-keys.ts) and the key version the server has for it. */
export interface UnwrapIdentity {
  userId: string
  keyVersion: number
  privateKey: Uint8Array
  publicKey: Uint8Array
}

/**
 * `rawKey` (32 bytes) wrapped for `recipient` by `sender` (this user: their
 * user id and account key pair), for collection `ctx.collectionId` and
 * epoch `ctx.epoch`. Every call uses a fresh ephemeral key, so wrapping the
 * same key twice gives two different results. Bad input (sizes, ids, an
 * epoch or key version out of range, a public key that is not a usable
 * X25519 key, a sender private key that is not the sender public key's)
 * throws a ClientInputError.
 *
 * The caller must have checked `recipient.publicKey` against the key it
 * knows for that user (checkKnownKey): whoever holds the private key of the
 * public key given here can read the collection.
 */
export function wrapCollectionKey(rawKey: Uint8Array, recipient: WrapRecipient, ctx: KeyContext, sender: WrapSender): Promise<WrappedKey> {
  return sealCollectionKey(rawKey, recipient, ctx, sender)
}

/**
 * The 32-byte collection key of `wrapped` (as read from the server:
 * `unknown`, its shape is checked here, strictly), for collection
 * `ctx.collectionId`, epoch `ctx.epoch`, wrapped for `me` by `sender`: the
 * user the server names as `wrappedBy`, with the public key this client
 * knows for that user, checked like any other key the server hands over
 * (checkKnownKey). Only a key made with that user's private key opens.
 *
 * Throws KeyUnwrapError (naming the collection and epoch) for anything the
 * server could have done: malformed, an unknown version, changed bytes, a
 * wrapped key moved from another collection, epoch, user or key version,
 * made for another public key, or made by another key than `sender`'s or
 * for another named wrapper. Bad input from the caller (ids, a private key
 * that does not match `me.publicKey`, a sender public key that is no usable
 * X25519 key) is a ClientInputError instead.
 */
export async function unwrapCollectionKey(wrapped: unknown, me: UnwrapIdentity, ctx: KeyContext, sender: WrappedBy): Promise<Uint8Array> {
  assertKeyContext(ctx)
  assertRecipientRef(me, 'me')
  assertKeyPair(me, 'me')
  assertWrappedBy(sender, 'sender')
  const { enc, sealed } = parseWrappedKey(ctx, wrapped)
  const hpke = hpkeSuite()
  const kem = hpke.kem
  const recipientKey = { privateKey: await kem.deserializePrivateKey(new Uint8Array(me.privateKey)), publicKey: await kem.deserializePublicKey(new Uint8Array(me.publicKey)) }
  const senderPublicKey = await kem.deserializePublicKey(new Uint8Array(sender.publicKey))
  let raw: Uint8Array
  try {
    const recipient = await hpke.createRecipientContext({ recipientKey, enc, senderPublicKey, info: new TextEncoder().encode(HPKE_INFO) })
    raw = bytesOf(await recipient.open(sealed, collectionKeyAad(ctx, me, sender)))
  } catch (error) {
    if (error instanceof DecapError || error instanceof DeserializeError) {
      // The sender's key is the caller's (a known key): a low-order one is a bad input, not the server's doing.
      if (isLowOrder(sender.publicKey)) throw new ClientInputError(`sender.publicKey of user ${sender.userId} is not a usable X25519 public key (low order)`)
      // A low-order `enc` (all-zero shared secret) or bytes that are no point: no sender following the format makes those.
      throw new KeyUnwrapError(ctx, 'malformed', '"enc" is not a usable X25519 public key')
    }
    // Changed or moved, or made by another key than the sender's, or for another named sender: AEAD cannot tell which.
    if (error instanceof OpenError) throw new KeyUnwrapError(ctx, 'authentication-failed')
    throw error
  }
  // The tag covers the length, so this only fails for a sender that sealed something else than a key.
  if (raw.length !== KEY_BYTES) throw new KeyUnwrapError(ctx, 'malformed', `the wrapped key is ${raw.length} bytes, not ${KEY_BYTES}`)
  return raw
}

/** Whether X25519 with `publicKey` gives the all-zero output whatever the private key: noble refuses exactly those points. */
function isLowOrder(publicKey: Uint8Array): boolean {
  try {
    x25519.getSharedSecret(x25519.utils.randomSecretKey(), publicKey)
    return false
  } catch {
    return true
  }
}

const FIELDS = ['c', 'enc', 'v']

/** The wrapped key's parts, checked strictly: exactly the three fields, canonical base64url, exact sizes. */
function parseWrappedKey(ctx: KeyContext, wrapped: unknown): { enc: Uint8Array<ArrayBuffer>; sealed: Uint8Array<ArrayBuffer> } {
  const malformed = (detail: string) => new KeyUnwrapError(ctx, 'malformed', detail)
  if (wrapped === null || typeof wrapped !== 'object' || Array.isArray(wrapped)) throw malformed('not a JSON object')
  const fields = wrapped as Record<string, unknown>
  // Version first: a newer format may have other fields.
  if (!Object.hasOwn(fields, 'v') || typeof fields.v !== 'number') throw malformed('no version "v"')
  if (fields.v !== WRAP_FORMAT_VERSION) throw new KeyUnwrapError(ctx, 'unsupported-version', `format version ${fields.v}; this client reads ${WRAP_FORMAT_VERSION}`)
  const keys = Object.keys(fields).sort()
  if (keys.length !== FIELDS.length || keys.some((k, index) => k !== FIELDS[index])) throw malformed('fields must be exactly v, enc, c')
  const enc = typeof fields.enc === 'string' ? fromBase64url(fields.enc) : undefined
  if (enc?.length !== ENC_BYTES) throw malformed(`"enc" is not ${ENC_BYTES} bytes of base64url`)
  const sealed = typeof fields.c === 'string' ? fromBase64url(fields.c) : undefined
  if (sealed?.length !== SEALED_BYTES) throw malformed(`"c" is not ${SEALED_BYTES} bytes of base64url`)
  return { enc, sealed }
}
