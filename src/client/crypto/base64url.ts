/**
 * base64url without padding (RFC 4648 §5), strict: the envelope is read from
 * the server, so a decoder that let through other alphabets, `=` padding,
 * whitespace or non-zero trailing bits would let one ciphertext have several
 * spellings. Only the canonical spelling of each byte string is accepted.
 * Hand-written because `btoa`/`atob` speak standard base64 over binary
 * strings and `Buffer` is Node-only.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const VALUES = new Map<string, number>([...ALPHABET].map((char, index) => [char, index]))

export function toBase64url(bytes: Uint8Array): string {
  let out = ''
  let index = 0
  for (; index + 2 < bytes.length; index += 3) {
    const n = (bytes[index] << 16) | (bytes[index + 1] << 8) | bytes[index + 2]
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63]
  }
  const rest = bytes.length - index
  if (rest === 1) {
    const n = bytes[index] << 16
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63]
  } else if (rest === 2) {
    const n = (bytes[index] << 16) | (bytes[index + 1] << 8)
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63]
  }
  return out
}

/** The bytes, or undefined when `text` is not the canonical unpadded base64url of any byte string. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  // A length of 4k+1 characters cannot come from whole bytes.
  if (text.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let buffer = 0
  let at = 0
  for (const char of text) {
    const value = VALUES.get(char)
    if (value === undefined) return undefined
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
