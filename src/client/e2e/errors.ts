import { RoostError } from '../errors.js'

/**
 * Errors of end-to-end encryption that the app acts on. Each is also a
 * RoostError (code 0 for "not now, retry later" conditions the sync loop
 * reports as its transient error; 4xx-like codes for the app's own calls),
 * so status and `onOutcome` keep speaking one language.
 */

/** This device holds no account keys yet: call `roost.account.create()`, `importRecoveryPhrase()` or `unlockWithPassphrase()`. */
export class AccountKeysMissingError extends RoostError {
  constructor(message = 'This device holds no account keys: create them, or import the recovery phrase (or unlock with the passphrase)') {
    super(0, 'AccountKeysMissing', message)
  }
}

/**
 * A record of an encrypted collection names a key epoch this device has no
 * key for (yet): a manager has not wrapped it for us, or it was wrapped for
 * an older public key of ours. The sync loop retries; nothing is lost.
 */
export class KeyUnavailableError extends RoostError {
  constructor(readonly collectionId: string, readonly epoch: number, detail = '') {
    super(0, 'KeyUnavailable', `No key for epoch ${epoch} of the encrypted collection "${collectionId}" on this device${detail ? `: ${detail}` : ''}`, { collectionId, epoch })
  }
}

/** The recovery phrase (or passphrase) is valid but belongs to another key than this account's. Nothing was written. */
export class WrongRecoveryPhraseError extends RoostError {
  constructor() {
    super(400, 'WrongRecoveryPhrase', "This recovery phrase is not this account's: its public key differs from the one the server holds for you")
  }
}

/** This account already has keys on the server: import its recovery phrase instead of creating new ones. */
export class AccountKeysExistError extends RoostError {
  constructor() {
    super(409, 'AccountKeysExist', 'This account already has keys: import its recovery phrase (or unlock with its passphrase) instead of creating new ones')
  }
}

/**
 * The server gave another public key for a user than the one this device
 * knew: refused until the app confirms it (`roost.account.trustKey`),
 * ideally after the two people compared fingerprints. Nothing was wrapped.
 */
export class KeyChangedError extends RoostError {
  constructor(readonly userId: string, readonly knownFingerprint: string, readonly newFingerprint: string) {
    super(409, 'KeyChanged', `The public key of user ${userId} changed (fingerprint ${knownFingerprint} → ${newFingerprint}): confirm it before sharing keys with them`, {
      userId,
      knownFingerprint,
      newFingerprint
    })
  }
}
