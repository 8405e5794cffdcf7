/**
 * base64url without padding (RFC 4648 §5), strict: the envelope is read from
 * the server, so a decoder that let through other alphabets, `=` padding,
 * whitespace or non-zero trailing bits would let one ciphertext have several
 * spellings. Only the canonical spelling of each byte string is accepted.
 * Hand-written because `btoa`/`atob` speak standard base64 over binary
 * strings and `Buffer` is Node-only.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** ASCII code of each 6-bit value, and the value of each ASCII code (-1: not in the alphabet). */
const CODES = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0))
const VALUES = new Int8Array(128).fill(-1)
CODES.forEach((code, value) => (VALUES[code] = value))

// The output is ASCII, which UTF-8 decodes as is (every platform has UTF-8; not all have latin1).
const ascii = new TextDecoder()

// Bytes in, ASCII bytes out, one string at the end: string concatenation per
// character was 6 to 8 times slower on 4 MiB (about 60 ms a MiB; records can be large).
export function toBase64url(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3))
  let at = 0
  let index = 0
  for (; index + 2 < bytes.length; index += 3) {
    const n = (bytes[index] << 16) | (bytes[index + 1] << 8) | bytes[index + 2]
    out[at++] = CODES[n >> 18]
    out[at++] = CODES[(n >> 12) & 63]
    out[at++] = CODES[(n >> 6) & 63]
    out[at++] = CODES[n & 63]
  }
  const rest = bytes.length - index
  if (rest > 0) {
    const n = (bytes[index] << 16) | (rest === 2 ? bytes[index + 1] << 8 : 0)
    out[at++] = CODES[n >> 18]
    out[at++] = CODES[(n >> 12) & 63]
    if (rest === 2) out[at++] = CODES[(n >> 6) & 63]
  }
  return ascii.decode(out)
}

/** The bytes, or undefined when `text` is not the canonical unpadded base64url of any byte string. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  // A length of 4k+1 characters cannot come from whole bytes.
  if (text.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let buffer = 0
  let at = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    const value = code < 128 ? VALUES[code] : -1
    if (value < 0) return undefined
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[at++] = (buffer >> bits) & 0xff
      buffer &= (1 << bits) - 1
    }
  }
  // The bits left over pad the last character: non-zero would be a second spelling.
  if (buffer !== 0) return undefined
  return out
}
