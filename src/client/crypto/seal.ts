import { ClientInputError } from '../errors.js'
import { assertId } from '../ids.js'
import { assertJson } from '../json.js'
import type { Json } from '../types.js'
import { associatedData } from './associated-data.js'
import { toBase64url } from './base64url.js'
import { webCryptoAesGcm, type AesGcm } from './aes-gcm.js'
import { assertCollectionKey } from './keys.js'
import { pad } from './padding.js'

/**
 * Encryption of one record into an envelope, given the nonce. Kept apart
 * from record-envelope.ts so that the public entry point has no way to pass
 * a nonce: AES-GCM with a repeated (key, nonce) pair loses both
 * confidentiality and integrity. Only the test of the documented worked
 * example imports this with a fixed nonce.
 */

export const FORMAT_VERSION = 1
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
/** Epochs are u32 in the associated data. */
export const MAX_EPOCH = 0xffff_ffff

/** A record's `data` as stored on the server: docs/ENCRYPTION.md, "Record envelope (format v1)". */
export interface Envelope {
  /** Format version. */
  v: 1
  /** Key epoch the record was encrypted under. */
  e: number
  /** The 12-byte AES-GCM nonce, base64url without padding (16 characters). */
  n: string
  /** Ciphertext with the 16-byte GCM tag appended, base64url without padding. */
  c: string
}

export interface RecordRef {
  collectionId: string
  recordId: string
}

export interface EncryptParams extends RecordRef {
  epoch: number
  data: Json
}

export function assertRecordRef(ref: RecordRef): void {
  assertId(ref?.collectionId, 'collectionId')
  assertId(ref.recordId, 'recordId')
}

export function assertEpoch(epoch: unknown, what = 'epoch'): asserts epoch is number {
  if (!Number.isInteger(epoch) || (epoch as number) < 0 || (epoch as number) > MAX_EPOCH) {
    throw new ClientInputError(`${what} ${String(epoch)} is not a key epoch: an integer from 0 to ${MAX_EPOCH}`)
  }
}

export async function sealRecord(key: CryptoKey, params: EncryptParams, nonce: Uint8Array, aes: AesGcm = webCryptoAesGcm): Promise<Envelope> {
  assertCollectionKey(key)
  assertRecordRef(params)
  assertEpoch(params.epoch)
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new ClientInputError(`a nonce is ${NONCE_BYTES} bytes`)
  try {
    assertJson(params.data, 'data')
  } catch (error) {
    throw new ClientInputError(`record data to encrypt is not JSON: ${(error as Error).message}`)
  }
  const { collectionId, recordId, epoch } = params
  const plaintext = pad(new TextEncoder().encode(JSON.stringify(params.data)))
  const additionalData = associatedData({ version: FORMAT_VERSION, collectionId, recordId, epoch })
  const ciphertext = await aes.encrypt(key, nonce, additionalData, plaintext)
  return { v: FORMAT_VERSION, e: epoch, n: toBase64url(nonce), c: toBase64url(ciphertext) }
}
