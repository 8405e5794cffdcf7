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

/** Why a wrapped collection key could not be unwrapped. */
export type KeyUnwrapReason =
  /** Not a v1 WrappedKey: wrong type, missing or extra fields, bad base64url, wrong sizes. */
  | 'malformed'
  /** A well-formed wrapped key of a format version this client does not know (written by a newer client?). */
  | 'unsupported-version'
  /**
   * HPKE refused it: bytes changed, the wrapped key was moved from another
   * collection, epoch, user or key version, or it was made for another
   * public key than this user's. These cannot be told apart, by design of AEAD.
   */
  | 'authentication-failed'

/**
 * A wrapped collection key (from the server) that cannot be trusted: the
 * key for that collection and epoch is not available to this user until a
 * manager wraps it again. Never a generic crash.
 */
export class KeyUnwrapError extends Error {
  readonly collectionId: string
  readonly epoch: number
  readonly reason: KeyUnwrapReason

  constructor(ctx: { collectionId: string; epoch: number }, reason: KeyUnwrapReason, detail?: string) {
    super(`The key of collection ${ctx.collectionId}, epoch ${ctx.epoch}, cannot be unwrapped (${reason})${detail === undefined ? '' : `: ${detail}`}`)
    this.name = 'KeyUnwrapError'
    this.collectionId = ctx.collectionId
    this.epoch = ctx.epoch
    this.reason = reason
  }
}

/**
 * The passphrase does not open the passphrase copy of the account secret:
 * either the passphrase is wrong or the stored copy was changed. AES-GCM
 * cannot tell these apart; nearly always it is the passphrase.
 */
export class WrongPassphraseError extends Error {
  constructor() {
    super('Wrong passphrase (or the stored passphrase copy of the account secret was changed)')
    this.name = 'WrongPassphraseError'
  }
}

/** Why a passphrase copy of the account secret is unreadable before any passphrase is tried. */
export type PassphraseWrapProblem =
  /** Not a v1 PassphraseWrap: wrong type, missing or extra fields, bad base64url or sizes, Argon2 parameters out of bounds. */
  | 'malformed'
  /** A format version this client does not know (written by a newer client?). */
  | 'unsupported-version'

/** The stored passphrase copy is not one this client can read; no passphrase would open it. */
export class InvalidPassphraseWrapError extends Error {
  readonly problem: PassphraseWrapProblem

  constructor(problem: PassphraseWrapProblem, detail: string) {
    super(`The passphrase copy of the account secret cannot be read (${problem}): ${detail}`)
    this.name = 'InvalidPassphraseWrapError'
    this.problem = problem
  }
}
