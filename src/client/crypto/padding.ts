/**
 * Plaintext padding of the record envelope (docs/ENCRYPTION.md, "Padding").
 *
 * PADMÉ (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", PoPETs 2019) rounds a length L up so that only
 * about log2(log2(L)) + 1 bits of it remain, at most ~12% overhead: the
 * server still sees roughly how big a record is, not its exact size.
 * PADMÉ leaves lengths below 8 or so untouched, which for records would leak
 * small values exactly ("yes" against "no", true against false), so the
 * padded length is never below MIN_PADDED_LENGTH.
 *
 * Layout: u32 big-endian byte length of the JSON || JSON bytes || zero bytes.
 */
export const MIN_PADDED_LENGTH = 32

const PREFIX = 4

/** PADMÉ's padded length for a length L ≥ 1 (lengths below 2 are returned unchanged). */
export function padme(length: number): number {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`padme: length ${length} is not a positive integer`)
  if (length < 2) return length
  const e = Math.floor(Math.log2(length))
  const s = Math.floor(Math.log2(e)) + 1
  const lastBits = e - s
  // Arithmetic, not bit operators: those are 32-bit in JavaScript.
  const step = 2 ** lastBits
  return Math.ceil(length / step) * step
}

/** The padded length for a payload of `payloadLength` bytes. */
export const paddedLength = (payloadLength: number): number => padme(Math.max(PREFIX + payloadLength, MIN_PADDED_LENGTH))

export function pad(payload: Uint8Array): Uint8Array<ArrayBuffer> {
  if (payload.length > 0xffff_ffff - PREFIX) throw new RangeError(`record too large to encrypt: ${payload.length} bytes`)
  const out = new Uint8Array(paddedLength(payload.length))
  new DataView(out.buffer).setUint32(0, payload.length)
  out.set(payload, PREFIX)
  return out
}

/**
 * The payload, or undefined unless `padded` is exactly what `pad` makes of
 * it (right length, zero padding). Strict because only one spelling per
 * payload leaves nothing for a writer to hide in the padding.
 */
export function unpad(padded: Uint8Array): Uint8Array | undefined {
  if (padded.length < PREFIX) return undefined
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0)
  if (PREFIX + length > padded.length || paddedLength(length) !== padded.length) return undefined
  for (let index = PREFIX + length; index < padded.length; index++) if (padded[index] !== 0) return undefined
  return padded.subarray(PREFIX, PREFIX + length)
}
