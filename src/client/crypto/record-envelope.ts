import type { Json } from '../types.js'
import { AesGcmAuthenticationError, webCryptoAesGcm, type AesGcm } from './aes-gcm.js'
import { associatedData } from './associated-data.js'
import { fromBase64url } from './base64url.js'
import { TamperedRecordError } from './errors.js'
import { assertCollectionKey, subtle } from './keys.js'
import { MIN_PADDED_LENGTH, unpad } from './padding.js'
import {
  FORMAT_VERSION,
  MAX_EPOCH,
  NONCE_BYTES,
  TAG_BYTES,
  assertEpoch,
  assertRecordRef,
  sealRecord,
  type EncryptParams,
  type Envelope,
  type RecordRef
} from './seal.js'

/**
 * The record envelope (docs/ENCRYPTION.md, "Record envelope (format v1)"):
 * a record's JSON data, padded and encrypted with AES-256-GCM under the
 * collection's key for one epoch, as a small JSON object the server stores
 * as the record's `data` without being able to read it.
 *
 * The sync engine encrypts when a push is planned and decrypts every record
 * from the server (src/client/e2e/codec.ts, src/client/engine/decode.ts).
 */
export { TamperedRecordError, type TamperReason } from './errors.js'
export { generateCollectionKey, exportKeyRaw, importKeyRaw } from './keys.js'
export type { Envelope, EncryptParams, RecordRef }

/**
 * Encrypts `data` for one record, with a fresh random nonce: encrypting the
 * same data twice gives two different envelopes. Bad input (a key that is
 * not AES-256-GCM, an invalid id or epoch, data that is not JSON) throws a
 * ClientInputError.
 */
export function encryptRecord(key: CryptoKey, params: EncryptParams, aes: AesGcm = webCryptoAesGcm): Promise<Envelope> {
  subtle() // the clear "no WebCrypto here" error, before getRandomValues fails less clearly
  return sealRecord(key, params, globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES)), aes)
}

/**
 * The data of a record from its envelope, as read from the server
 * (`unknown`: its shape is checked here, strictly).
 *
 * Throws TamperedRecordError (with the collection and record ids) for
 * anything wrong with the envelope: malformed, an unknown version, another
 * epoch than `ref.epoch` when given, changed bytes, an envelope moved from
 * another record, collection or epoch. A wrong key is indistinguishable from
 * tampering (AES-GCM only says "not authentic"): it throws the same error,
 * reason 'authentication-failed'. Without `ref.epoch` the epoch is the one
 * the envelope names (see `envelopeEpoch` to pick the key), still
 * authenticated by the associated data.
 *
 * Bad input from the caller (an invalid key, id or epoch) is a
 * ClientInputError instead: that is a bug here, not an attack there.
 */
export async function decryptRecord(key: CryptoKey, ref: RecordRef & { epoch?: number }, envelope: unknown, aes: AesGcm = webCryptoAesGcm): Promise<Json> {
  assertCollectionKey(key)
  assertRecordRef(ref)
  if (ref.epoch !== undefined) assertEpoch(ref.epoch, 'ref.epoch')
  const expected = ref.epoch
  return openRecord((epoch) => {
    if (expected !== undefined && epoch !== expected) {
      throw new TamperedRecordError(ref, 'epoch-mismatch', `the envelope says epoch ${epoch}, expected ${expected}`)
    }
    return key
  }, ref, envelope, aes)
}

/**
 * decryptRecord with the key chosen by the epoch the envelope names, read
 * once: what the sync engine uses for every record it pulls (`keyFor` may
 * throw, e.g. when no key of that epoch is held). The ids are trusted to be
 * valid (they come from records the server's schema checked).
 */
export async function openRecord(keyFor: (epoch: number) => CryptoKey | Promise<CryptoKey>, ref: RecordRef, envelope: unknown, aes: AesGcm = webCryptoAesGcm): Promise<Json> {
  const { nonce, ciphertext, epoch } = parseEnvelope(ref, envelope)
  const key = await keyFor(epoch)
  const additionalData = associatedData({ version: FORMAT_VERSION, collectionId: ref.collectionId, recordId: ref.recordId, epoch })
  let padded: Uint8Array
  try {
    padded = await aes.decrypt(key, nonce, additionalData, ciphertext)
  } catch (error) {
    if (error instanceof AesGcmAuthenticationError) throw new TamperedRecordError(ref, 'authentication-failed')
    throw error
  }
  const payload = unpad(padded)
  if (payload === undefined) throw new TamperedRecordError(ref, 'malformed-plaintext', 'bad length prefix or padding')
  try {
    return JSON.parse(utf8.decode(payload)) as Json
  } catch {
    throw new TamperedRecordError(ref, 'malformed-plaintext', 'not UTF-8 JSON')
  }
}

/**
 * The key epoch an envelope names, to choose the key to decrypt it with
 * (it is authenticated only by that decryption). Throws TamperedRecordError
 * when `envelope` is not a v1 envelope.
 */
export function envelopeEpoch(ref: RecordRef, envelope: unknown): number {
  return parseEnvelope(ref, envelope).epoch
}

const FIELDS = ['c', 'e', 'n', 'v']
/** Strict UTF-8 (one decoder for all: `decode` without `stream` keeps no state between calls). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The envelope's parts, checked strictly: exactly the four fields, canonical base64url, sane sizes. */
function parseEnvelope(ref: RecordRef, envelope: unknown): { epoch: number; nonce: Uint8Array<ArrayBuffer>; ciphertext: Uint8Array<ArrayBuffer> } {
  const malformed = (detail: string) => new TamperedRecordError(ref, 'malformed-envelope', detail)
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) throw malformed('not a JSON object')
  const fields = envelope as Record<string, unknown>
  // Version first: a newer format may have other fields.
  if (!Object.hasOwn(fields, 'v') || typeof fields.v !== 'number') throw malformed('no version "v"')
  if (fields.v !== FORMAT_VERSION) throw new TamperedRecordError(ref, 'unsupported-version', `format version ${fields.v}; this client reads ${FORMAT_VERSION}`)
  const keys = Object.keys(fields).sort()
  if (keys.length !== FIELDS.length || keys.some((k, index) => k !== FIELDS[index])) throw malformed(`fields must be exactly v, e, n, c`)
  const { e, n, c } = fields
  if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > MAX_EPOCH) throw malformed('"e" is not a key epoch')
  const nonce = typeof n === 'string' ? fromBase64url(n) : undefined
  if (nonce?.length !== NONCE_BYTES) throw malformed(`"n" is not ${NONCE_BYTES} bytes of base64url`)
  const ciphertext = typeof c === 'string' ? fromBase64url(c) : undefined
  if (ciphertext === undefined) throw malformed('"c" is not base64url')
  if (ciphertext.length < MIN_PADDED_LENGTH + TAG_BYTES) throw malformed('"c" is too short')
  return { epoch: e, nonce, ciphertext }
}
