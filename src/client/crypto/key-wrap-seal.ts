import { Aes256Gcm, CipherSuite, EncapError, HkdfSha256 } from '@hpke/core'
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519'
import { x25519 } from '@noble/curves/ed25519.js'
import { ClientInputError } from '../errors.js'
import { assertId } from '../ids.js'
import { toBase64url } from './base64url.js'
import { assertPublicKey } from './fingerprint.js'
import { KEY_BYTES } from './keys.js'
import { labelledData } from './labelled-data.js'

/**
 * Wrapping one collection key for one member (docs/ENCRYPTION.md, "Wrapped
 * collection keys (format v1)"), given the ephemeral key. Kept apart from
 * key-wrap.ts so that the public entry point has no way to pass one: HPKE's
 * ephemeral key must be fresh for every wrap. Only the test of the
 * documented worked example imports this with a fixed ephemeral key.
 */

export const WRAP_FORMAT_VERSION = 1
/** HPKE `info`: names the purpose and version, so a key wrapped here can never be opened as anything else. */
export const HPKE_INFO = 'roost.collection-key.v1'
/** First bytes of the AEAD associated data. */
export const AAD_LABEL = 'roost.collection-key'
/** The KEM's encapsulated key: an X25519 public key. */
export const ENC_BYTES = 32
/** The sealed collection key: 32 bytes and the 16-byte AES-GCM tag. */
export const SEALED_BYTES = KEY_BYTES + 16
/** Epochs and key versions are u32 in the associated data. */
export const MAX_U32 = 0xffff_ffff

/** A collection key wrapped for one member, as the server stores it (ENC_API `WrappedKey`). */
export interface WrappedKey {
  /** Format version. */
  v: 1
  /** HPKE's encapsulated key (the sender's ephemeral X25519 public key), base64url: 43 characters. */
  enc: string
  /** The collection key sealed by HPKE (AES-256-GCM, tag appended), base64url: 64 characters. */
  c: string
}

/** Which collection key this is: the collection and the key epoch. */
export interface KeyContext {
  collectionId: string
  epoch: number
}

/** The member a key is wrapped for: their user id, the version of their account key (user-keys), and that public key. */
export interface WrapRecipient {
  userId: string
  keyVersion: number
  publicKey: Uint8Array
}

export function assertKeyContext(ctx: KeyContext): void {
  assertId(ctx?.collectionId, 'collectionId')
  assertU32(ctx.epoch, 'epoch', 1)
}

export function assertRecipientRef(ref: { userId: string; keyVersion: number }, what: string): void {
  assertId(ref?.userId, `${what}.userId`)
  assertU32(ref.keyVersion, `${what}.keyVersion`, 1)
}

function assertU32(value: unknown, what: string, min: number): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_U32) {
    throw new ClientInputError(`${what} ${String(value)} must be an integer from ${min} to ${MAX_U32}`)
  }
}

/**
 * The associated data: binds the sealed key to one collection, epoch, user
 * and key version, so the server cannot hand a member's wrapped key to
 * another collection or epoch, or pass it off as made for another account
 * key. (The recipient's public key itself is bound by HPKE: it enters the
 * key schedule through the KEM context.)
 *
 *   "roost.collection-key" ‖ 0x01 ‖ lp(collectionId) ‖ u32be(epoch) ‖ lp(userId) ‖ u32be(keyVersion)
 */
export function collectionKeyAad(ctx: KeyContext, recipient: { userId: string; keyVersion: number }): Uint8Array<ArrayBuffer> {
  return labelledData(AAD_LABEL, WRAP_FORMAT_VERSION, [{ text: ctx.collectionId }, { u32: ctx.epoch }, { text: recipient.userId }, { u32: recipient.keyVersion }])
}

let suite: CipherSuite | undefined

/**
 * HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
 * X25519 from @hpke/dhkem-x25519 (noble's code), not WebCrypto: as for the
 * account keys, not every browser has X25519 in WebCrypto, and this one
 * imports the raw 32-byte private key the account derives.
 */
export function hpkeSuite(): CipherSuite {
  suite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() })
  return suite
}

export const bytesOf = (buffer: ArrayBuffer | Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(buffer as ArrayBuffer)

/**
 * Wraps `rawKey` for `recipient`. `ephemeralPrivateKey` only for the
 * worked example's test; otherwise HPKE draws a fresh ephemeral key.
 */
export async function sealCollectionKey(rawKey: Uint8Array, recipient: WrapRecipient, ctx: KeyContext, ephemeralPrivateKey?: Uint8Array): Promise<WrappedKey> {
  if (!(rawKey instanceof Uint8Array) || rawKey.length !== KEY_BYTES) throw new ClientInputError(`a collection key is ${KEY_BYTES} raw bytes (AES-256)`)
  assertKeyContext(ctx)
  assertRecipientRef(recipient, 'recipient')
  assertPublicKey(recipient.publicKey, 'recipient.publicKey')
  const hpke = hpkeSuite()
  const kem = hpke.kem
  let recipientPublicKey: CryptoKey
  try {
    recipientPublicKey = await kem.deserializePublicKey(new Uint8Array(recipient.publicKey))
  } catch {
    throw new ClientInputError(`recipient.publicKey of user ${recipient.userId} is not an X25519 public key`)
  }
  let ekm: CryptoKeyPair | undefined
  if (ephemeralPrivateKey !== undefined) {
    const publicKey = x25519.getPublicKey(ephemeralPrivateKey)
    ekm = { privateKey: await kem.deserializePrivateKey(new Uint8Array(ephemeralPrivateKey)), publicKey: await kem.deserializePublicKey(publicKey) }
  }
  const info = new TextEncoder().encode(HPKE_INFO)
  try {
    const sender = await hpke.createSenderContext({ recipientPublicKey, info, ...(ekm === undefined ? {} : { ekm }) })
    const sealed = await sender.seal(new Uint8Array(rawKey), collectionKeyAad(ctx, recipient))
    return { v: WRAP_FORMAT_VERSION, enc: toBase64url(bytesOf(sender.enc)), c: toBase64url(bytesOf(sealed)) }
  } catch (error) {
    // A low-order point gives an all-zero shared secret, which HPKE refuses (RFC 9180 §7.1.4): anyone could open that wrap.
    if (error instanceof EncapError) throw new ClientInputError(`recipient.publicKey of user ${recipient.userId} is not a usable X25519 public key (${error.message})`)
    throw error
  }
}
