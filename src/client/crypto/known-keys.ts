import { ClientInputError } from '../errors.js'
import { assertPublicKey } from './fingerprint.js'

/**
 * Trust on first use, with a stop on change (issue 16, "Verifying keys"):
 * the client remembers the public key it first saw for each user, and when
 * the server later hands it another one, it refuses to wrap keys for that
 * user until the app confirms the change (ideally after the two people
 * compared fingerprints). Otherwise an operator could slip in a key of
 * their own for someone and read every collection shared with them.
 */
export interface UserPublicKey {
  userId: string
  publicKey: Uint8Array
}

/**
 * - 'new': no key known for this user yet (trust it, remember it).
 * - 'same': the key the client already knows.
 * - 'changed': another key than the known one: refuse until the app confirms.
 */
export type KnownKeyStatus = 'new' | 'same' | 'changed'

/** How `seen` (the key the server gave for a user) compares with `known` (the one remembered for that user, if any). */
export function checkKnownKey(known: UserPublicKey | undefined, seen: UserPublicKey): KnownKeyStatus {
  assertUserKey(seen, 'seen')
  if (known === undefined) return 'new'
  assertUserKey(known, 'known')
  // Comparing two different users' keys is a bug in the caller, not a key change.
  if (known.userId !== seen.userId) throw new ClientInputError(`checkKnownKey compares keys of one user, got "${known.userId}" and "${seen.userId}"`)
  // Public keys: no need for a constant-time comparison.
  return known.publicKey.every((byte, index) => byte === seen.publicKey[index]) ? 'same' : 'changed'
}

function assertUserKey(entry: UserPublicKey, what: string): void {
  if (entry === null || typeof entry !== 'object' || typeof entry.userId !== 'string' || entry.userId === '') {
    throw new ClientInputError(`${what} must be { userId, publicKey } with a non-empty userId`)
  }
  assertPublicKey(entry.publicKey, `${what}.publicKey`)
}
