import type { UserKey } from '../../services/user-keys/user-keys.shared.js'
import { createAccountKeys, deriveAccountKeys, importRecoveryPhrase, recoveryPhrase, type AccountKeys } from '../crypto/account-keys.js'
import { fromBase64url, toBase64url } from '../crypto/base64url.js'
import { fingerprint } from '../crypto/fingerprint.js'
import { unwrapSecretWithPassphrase, wrapSecretWithPassphrase } from '../crypto/passphrase.js'
import { recoveryQrSvg } from '../crypto/recovery-qr.js'
import { toRoostError } from '../errors.js'
import type { ClientStore } from '../stores/types.js'
import type { RestTransport } from '../transport/rest.js'
import { AccountKeysExistError, AccountKeysMissingError, WrongRecoveryPhraseError } from './errors.js'
import type { KeyRing } from './keyring.js'

export interface AccountDeps {
  ring: KeyRing
  rest: RestTransport
  store: ClientStore
  /** Signs in if needed and returns the user id. */
  signedIn(): Promise<string>
}

const userKeyPath = (userId: string) => `user-keys/${encodeURIComponent(userId)}`
/** A secret made by create() and not yet confirmed published, per user. */
const PENDING_ACCOUNT = 'e2e:pending-account:'

/**
 * The account's keys, for the app (`roost.account`): made on the first
 * device, moved to others by recovery phrase, QR code or passphrase. The
 * server keeps the public key (and, if the user wants, the secret wrapped
 * by a passphrase it never sees).
 */
export class AccountApi {
  constructor(private readonly deps: AccountDeps) {}

  /** Whether this device holds the account's keys ('ready'), or must create or import them ('missing'). */
  async status(): Promise<'ready' | 'missing'> {
    try {
      await this.deps.ring.requireAccount()
      return 'ready'
    } catch (error) {
      if (error instanceof AccountKeysMissingError) return 'missing'
      throw error
    }
  }

  /**
   * What the server holds of this account's keys: null when none were made
   * yet (offer `create()`), otherwise their version and whether a
   * passphrase copy exists (offer `unlockWithPassphrase()` as well as the
   * recovery phrase). With `status()`, all a page needs to choose between
   * create, unlock and ready.
   */
  async onServer(): Promise<{ keyVersion: number; passphrase: boolean } | null> {
    const userId = await this.deps.signedIn()
    try {
      const answer = await this.deps.rest.call<UserKey>({ method: 'GET', path: userKeyPath(userId) })
      return { keyVersion: answer.keyVersion, passphrase: answer.passphraseWrap !== null && answer.passphraseWrap !== undefined }
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code === 404) return null
      throw error
    }
  }

  /**
   * Makes the account's keys (first device) and publishes the public key.
   * Returns the recovery phrase: show it to the user once, to write down.
   * An account that already has keys: AccountKeysExistError (import instead).
   */
  async create(): Promise<{ recoveryPhrase: string }> {
    const userId = await this.deps.signedIn()
    // The new secret is kept on the device before the server hears of it: when the answer is lost,
    // calling create() again publishes (or finds published) the same key instead of losing it.
    const pendingKey = `${PENDING_ACCOUNT}${userId}`
    const pending = await this.deps.store.getMeta<string>(pendingKey)
    const secret = pending === undefined ? undefined : fromBase64url(pending)
    const keys = secret ? await deriveAccountKeys(secret) : await createAccountKeys()
    if (!secret) await this.deps.store.write([{ type: 'putMeta', key: pendingKey, value: toBase64url(keys.secret) }])
    const publicKey = toBase64url(keys.publicKey)
    let answer: UserKey
    try {
      answer = await this.deps.rest.call<UserKey>({ method: 'PUT', path: userKeyPath(userId), body: { publicKey, baseKeyVersion: 0 } })
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code !== 409) throw error
      const current = (error.data as { current?: UserKey | null } | undefined)?.current
      if (current?.publicKey !== publicKey) throw new AccountKeysExistError()
      answer = current // our own earlier attempt, its answer lost
    }
    await this.deps.ring.setAccount({ userId, keyVersion: answer.keyVersion, keys })
    await this.deps.store.write([{ type: 'deleteMeta', key: pendingKey }])
    return { recoveryPhrase: recoveryPhrase(keys.secret) }
  }

  /**
   * Another device: the keys from the recovery phrase. A phrase that is not
   * valid BIP-39 throws InvalidRecoveryPhraseError; a valid one of another
   * key, WrongRecoveryPhraseError. Nothing is written in either case.
   */
  async importRecoveryPhrase(phrase: string): Promise<void> {
    const keys = await importRecoveryPhrase(phrase)
    await this.adopt(keys)
  }

  /** The recovery phrase of this device's account keys (24 words). */
  async recoveryPhrase(): Promise<string> {
    return recoveryPhrase((await this.deps.ring.requireAccount()).keys.secret)
  }

  /** The recovery phrase as a QR code (SVG markup), for another device's camera. */
  async recoveryQrSvg(): Promise<string> {
    return recoveryQrSvg(await this.recoveryPhrase())
  }

  /**
   * Lets the user unlock other devices with a passphrase: the account
   * secret, wrapped by a key derived from the passphrase (Argon2id) on this
   * device, is kept by the server. Null clears it.
   */
  async setPassphrase(passphrase: string | null): Promise<void> {
    const account = await this.deps.ring.requireAccount()
    const passphraseWrap = passphrase === null ? null : await wrapSecretWithPassphrase(account.keys.secret, passphrase, { userId: account.userId })
    await this.deps.rest.call({ method: 'PATCH', path: userKeyPath(account.userId), body: { passphraseWrap } })
  }

  /** Another device: the keys from the passphrase copy on the server. A wrong passphrase: WrongPassphraseError, nothing written. */
  async unlockWithPassphrase(passphrase: string): Promise<void> {
    const userId = await this.deps.signedIn()
    const answer = await this.deps.rest.call<UserKey>({ method: 'GET', path: userKeyPath(userId) })
    if (!answer.passphraseWrap) throw new AccountKeysMissingError('This account has no passphrase copy of its keys: import the recovery phrase')
    const secret = await unwrapSecretWithPassphrase(answer.passphraseWrap, passphrase, { userId })
    await this.adopt(await deriveAccountKeys(secret), answer)
  }

  /** A user's key fingerprint (30 digits), to compare aloud or side by side; yours without an id. */
  async fingerprint(userId?: string): Promise<string> {
    if (userId === undefined) return fingerprint((await this.deps.ring.requireAccount()).keys.publicKey)
    const key = await this.deps.ring.publicKeyOf(userId).catch(async (error: unknown) => {
      // A changed key still has a fingerprint: the one to compare before trusting it.
      const answer = await this.deps.rest.call<UserKey>({ method: 'GET', path: userKeyPath(userId) }).catch(() => null)
      const bytes = answer ? fromBase64url(answer.publicKey) : undefined
      if (!bytes) throw error
      return { publicKey: bytes, keyVersion: answer!.keyVersion }
    })
    if (!key) throw new AccountKeysMissingError(`User ${userId} has no public key yet`)
    return fingerprint(key.publicKey)
  }

  /** Confirms the key the server now gives for a user (after a KeyChangedError and a fingerprint check). */
  trustKey(userId: string): Promise<void> {
    return this.deps.ring.trust(userId)
  }

  /** Keeps keys on this device once the server confirms they are this account's (same public key). */
  private async adopt(keys: AccountKeys, known?: UserKey): Promise<void> {
    const userId = await this.deps.signedIn()
    const answer = known ?? (await this.deps.rest.call<UserKey>({ method: 'GET', path: userKeyPath(userId) }).catch((caught: unknown) => {
      const error = toRoostError(caught)
      if (error.code === 404) throw new AccountKeysMissingError('This account has no keys yet: create them on this device')
      throw error
    }))
    if (answer.publicKey !== toBase64url(keys.publicKey)) throw new WrongRecoveryPhraseError()
    await this.deps.ring.setAccount({ userId, keyVersion: answer.keyVersion, keys })
  }
}
