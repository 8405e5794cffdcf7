/** Why a record failed to decrypt; for logs and for telling "update the app" from "tampered". */
export type TamperReason =
  /** `data` is not a v1 envelope: wrong type, missing or extra fields, bad base64url, too short. */
  | 'malformed-envelope'
  /** A well-formed envelope of a format version this client does not know (written by a newer client?). */
  | 'unsupported-version'
  /** The envelope names another key epoch than the one the caller expected. */
  | 'epoch-mismatch'
  /**
   * AES-GCM refused it: ciphertext, nonce or epoch changed, the envelope was
   * moved from another record or collection, or the key is not the one it was
   * written with. These cannot be told apart, by design of AEAD.
   */
  | 'authentication-failed'
  /** It decrypted, but the plaintext is not padded UTF-8 JSON: written by a key holder that does not follow the format. */
  | 'malformed-plaintext'

/**
 * A record whose `data` cannot be trusted: the client must not show it.
 * Thrown by decryptRecord for anything the server (or whoever edited its
 * database) could have done to the envelope, never a generic crash.
 */
export class TamperedRecordError extends Error {
  readonly collectionId: string
  readonly recordId: string
  readonly reason: TamperReason

  constructor(ids: { collectionId: string; recordId: string }, reason: TamperReason, detail?: string) {
    super(`Record ${ids.collectionId}/${ids.recordId} cannot be decrypted (${reason})${detail === undefined ? '' : `: ${detail}`}`)
    this.name = 'TamperedRecordError'
    this.collectionId = ids.collectionId
    this.recordId = ids.recordId
    this.reason = reason
  }
}
