import { ClientInputError } from '../errors.js'

/**
 * Collection keys: AES-256-GCM keys from WebCrypto, one per collection and
 * key epoch (issue 16). Raw form: exactly 32 bytes.
 */
const ALGORITHM = { name: 'AES-GCM', length: 256 } as const
const USAGES: KeyUsage[] = ['encrypt', 'decrypt']
export const KEY_BYTES = 32

/**
 * A fresh random collection key. Extractable, because the device that makes
 * it must wrap it for every member (and for its own other devices) before it
 * is of any use to anyone else.
 */
export function generateCollectionKey(): Promise<CryptoKey> {
  return subtle().generateKey(ALGORITHM, true, USAGES)
}

/** The key's 32 raw bytes, for wrapping. Fails on a non-extractable key (WebCrypto's InvalidAccessError). */
export async function exportKeyRaw(key: CryptoKey): Promise<Uint8Array> {
  assertCollectionKey(key)
  return new Uint8Array(await subtle().exportKey('raw', key))
}

/**
 * A collection key from its 32 raw bytes (after unwrapping).
 *
 * Non-extractable unless asked: a device that only reads and writes records
 * never needs the bytes again, and a non-extractable CryptoKey can still be
 * kept in IndexedDB (structured clone), so a script injected into the page
 * can use the key while the page is open but cannot copy it away. A manager
 * that must re-wrap the key for a new member imports it with
 * `{ extractable: true }`.
 */
export function importKeyRaw(raw: Uint8Array, options: { extractable?: boolean } = {}): Promise<CryptoKey> {
  if (!(raw instanceof Uint8Array) || raw.length !== KEY_BYTES) {
    // WebCrypto would take 16 or 24 bytes too (AES-128/192): the format says 256.
    throw new ClientInputError(`a collection key is ${KEY_BYTES} raw bytes (AES-256), got ${describe(raw)}`)
  }
  // A copy: WebCrypto wants bytes on a plain (not shared) ArrayBuffer.
  return subtle().importKey('raw', new Uint8Array(raw), ALGORITHM, options.extractable ?? false, USAGES)
}

/** Fails at once, with a clear message, on anything but an AES-256-GCM key that may encrypt and decrypt. */
export function assertCollectionKey(key: unknown): asserts key is CryptoKey {
  const algorithm = (key as { algorithm?: { name?: unknown; length?: unknown } } | null)?.algorithm
  const usages = (key as { usages?: unknown } | null)?.usages
  const ok =
    typeof CryptoKey !== 'undefined' &&
    key instanceof CryptoKey &&
    key.type === 'secret' &&
    algorithm?.name === 'AES-GCM' &&
    algorithm.length === 256 &&
    Array.isArray(usages) &&
    usages.includes('encrypt') &&
    usages.includes('decrypt')
  if (!ok) throw new ClientInputError('a collection key must be an AES-GCM CryptoKey of 256 bits usable to encrypt and decrypt (see generateCollectionKey, importKeyRaw)')
}

function describe(raw: unknown): string {
  return raw instanceof Uint8Array ? `${raw.length} bytes` : `${raw === null ? 'null' : typeof raw}`
}

/** WebCrypto, present in browsers (secure contexts) and Node ≥ 20. */
export function subtle(): SubtleCrypto {
  const found = globalThis.crypto?.subtle
  if (found === undefined) throw new Error('WebCrypto (crypto.subtle) is not available here: encrypted collections need a browser secure context (https or localhost) or Node ≥ 20')
  return found
}
