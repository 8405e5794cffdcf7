import { ClientInputError } from '../errors.js'
import { subtle } from './keys.js'

/**
 * Key fingerprints (docs/ENCRYPTION.md, "Fingerprint"): what two people
 * compare, read aloud or side by side, to know that the public key the
 * server gave each of them for the other is the real one.
 *
 *   H = SHA-256("roost.fingerprint.v1" ‖ publicKey)
 *   6 groups: for i in 0..5, u40be(H[5i .. 5i+4]) mod 100000, as 5 digits
 *
 * 30 digits carry about 99.7 bits (the mod-100000 bias of a 40-bit value is
 * below 1e-7, negligible). An operator who wants a key of their own to show
 * the same fingerprint needs a second preimage of those bits: about 2^99
 * hashes, far beyond reach, while 6 groups of 5 digits stay short enough to
 * read aloud (the layout of Signal's safety numbers, one side of them).
 */
const LABEL = 'roost.fingerprint.v1'
export const PUBLIC_KEY_BYTES = 32
export const FINGERPRINT_GROUPS = 6

/** The fingerprint of a 32-byte X25519 public key, as "12345 67890 …" (6 groups of 5 digits). */
export async function fingerprint(publicKey: Uint8Array): Promise<string> {
  assertPublicKey(publicKey)
  const label = new TextEncoder().encode(LABEL)
  const input = new Uint8Array(label.length + publicKey.length)
  input.set(label)
  input.set(publicKey, label.length)
  const hash = new Uint8Array(await subtle().digest('SHA-256', input))
  const groups: string[] = []
  for (let group = 0; group < FINGERPRINT_GROUPS; group++) {
    // 40 bits exceed the 32 of bit operators, not the 53 of a double.
    let value = 0
    for (const byte of hash.subarray(group * 5, group * 5 + 5)) value = value * 256 + byte
    groups.push(String(value % 100_000).padStart(5, '0'))
  }
  return groups.join(' ')
}

export function assertPublicKey(publicKey: unknown, what = 'a public key'): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new ClientInputError(`${what} is ${PUBLIC_KEY_BYTES} bytes (X25519), got ${publicKey instanceof Uint8Array ? `${publicKey.length} bytes` : publicKey === null ? 'null' : typeof publicKey}`)
  }
}
