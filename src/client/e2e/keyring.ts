import type { CollectionKey } from '../../services/collection-keys/collection-keys.shared.js'
import type { KeyEpoch } from '../../services/key-epochs/key-epochs.shared.js'
import type { UserKey } from '../../services/user-keys/user-keys.shared.js'
import { deriveAccountKeys, type AccountKeys } from '../crypto/account-keys.js'
import { fromBase64url, toBase64url } from '../crypto/base64url.js'
import { fingerprint } from '../crypto/fingerprint.js'
import { importKeyRaw } from '../crypto/keys.js'
import { checkKnownKey } from '../crypto/known-keys.js'
import { unwrapCollectionKey, wrapCollectionKey, type WrappedKey } from '../crypto/key-wrap.js'
import { RoostError, toRoostError } from '../errors.js'
import type { ClientStore } from '../stores/types.js'
import type { RestTransport } from '../transport/rest.js'
import { AccountKeysMissingError, KeyChangedError, KeyUnavailableError } from './errors.js'

/** The account as this device keeps it (local store, meta `e2e:account`). */
interface StoredAccount {
  userId: string
  keyVersion: number
  /** The 32-byte account secret, base64url: everything derives from it. */
  secret: string
}

/** A key of ours for one epoch, as the server wrapped it (kept so an offline start can still decrypt). */
interface StoredWrapped {
  epoch: number
  keyVersion: number
  wrappedKey: WrappedKey
  /** Who wrapped it: its wrap is authenticated by their key (HPKE Auth mode), checked against the one we know for them. */
  wrappedBy: string
}

interface KnownKey {
  publicKey: string
  keyVersion: number
}

export interface Account {
  userId: string
  keyVersion: number
  keys: AccountKeys
}

interface EpochKey {
  key: CryptoKey
  /** Kept in memory only, to wrap the key for new members and other devices. */
  raw: Uint8Array
}

const ACCOUNT = 'e2e:account'
const OPTED = 'e2e:encrypted'
const epochsKey = (collectionId: string) => `e2e:epoch:${collectionId}`
const wrappedKey = (collectionId: string) => `e2e:wrapped:${collectionId}`
const knownKey = (userId: string) => `e2e:known:${userId}`

const keysPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/keys`
const epochsPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/key-epochs`

/** How long a failed look for a missing key holds before the server is asked again. */
const REFRESH_EVERY_MS = 2000

/**
 * The keys this device holds: the account's (from its secret) and each
 * encrypted collection's, per epoch, unwrapped from what the server keeps
 * for us. The server only ever sees public keys and wrapped keys.
 *
 * A collection is encrypted on this device once the app opened it with
 * `encrypted: true` or the server showed it has a key epoch; from then on
 * it stays so (stored), so a server that later serves plaintext, or hides
 * the epochs, gets its records reported as tampered rather than shown.
 */
export class KeyRing {
  private account: Account | null = null
  private accountLoading: Promise<void> | null = null
  private readonly storedLoading = new Map<string, Promise<void>>()
  private readonly keys = new Map<string, Map<number, EpochKey>>()
  private readonly current = new Map<string, number>()
  private readonly opted = new Set<string>()
  private readonly lastRefresh = new Map<string, number>()
  private readonly refreshing = new Map<string, Promise<void>>()
  /** Collections whose epoch may have moved on (a `keys` event): looked up again before the next write. */
  private readonly outdated = new Set<string>()
  /** Collections where records sealed under an older epoch than the current one were seen: to re-encrypt. */
  private readonly stale = new Set<string>()
  private loadedMeta: Promise<void> | null = null

  constructor(private readonly deps: { store: ClientStore; rest: RestTransport; userId: () => string | null }) {}

  // ---- account ----

  /**
   * The account keys on this device, or null. Only keys found are kept in
   * memory: while there are none, the store is read again each time, since
   * another tab on the same store may create or import them (and the tab
   * that syncs must then use them).
   */
  async getAccount(): Promise<Account | null> {
    if (this.account) return this.account
    // One read for all callers: a page of records decodes concurrently, and each would otherwise read and derive the keys again.
    this.accountLoading ??= (async () => {
      const stored = await this.deps.store.getMeta<StoredAccount>(ACCOUNT)
      if (stored && !this.account) {
        const secret = fromBase64url(stored.secret)
        if (secret) this.account = { userId: stored.userId, keyVersion: stored.keyVersion, keys: await deriveAccountKeys(secret) }
      }
    })().finally(() => (this.accountLoading = null))
    await this.accountLoading
    return this.account
  }

  async requireAccount(): Promise<Account> {
    const account = await this.getAccount()
    const userId = this.deps.userId()
    if (!account || (userId !== null && account.userId !== userId)) throw new AccountKeysMissingError()
    return account
  }

  /** Keeps the account on this device (after creating, importing or unlocking it). */
  async setAccount(account: Account): Promise<void> {
    const value: StoredAccount = { userId: account.userId, keyVersion: account.keyVersion, secret: toBase64url(account.keys.secret) }
    await this.deps.store.write([{ type: 'putMeta', key: ACCOUNT, value }])
    this.account = account
    // Our own key is known: never "changed" for ourselves.
    await this.remember(account.userId, account.keys.publicKey, account.keyVersion)
    // Keys wrapped for an older key of ours are useless now; fetch again.
    this.keys.clear()
    this.lastRefresh.clear()
  }

  // ---- which collections are encrypted ----

  private async loadMeta() {
    this.loadedMeta ??= (async () => {
      for (const id of (await this.deps.store.getMeta<string[]>(OPTED)) ?? []) this.opted.add(id)
      for (const [key, epoch] of await this.deps.store.listMeta<number>('e2e:epoch:')) this.current.set(key.slice('e2e:epoch:'.length), epoch)
    })()
    return this.loadedMeta
  }

  /**
   * The app opened the collection with `encrypted: true`. Known at once
   * (in memory) so no push planned from now on goes out in the clear, and
   * kept in the store for the next start.
   */
  async optIn(collectionId: string): Promise<void> {
    const fresh = !this.opted.has(collectionId)
    this.opted.add(collectionId)
    await this.loadMeta()
    if (fresh) {
      // Keep what other tabs on this store stored meanwhile.
      await this.readOpted()
      await this.deps.store.write([{ type: 'putMeta', key: OPTED, value: [...this.opted] }])
    }
  }

  /** Adds the collections opted in as stored now (by any tab on this store). */
  private async readOpted(): Promise<void> {
    for (const id of (await this.deps.store.getMeta<string[]>(OPTED)) ?? []) this.opted.add(id)
  }

  /** The collections this device treats as encrypted. */
  async encryptedCollections(): Promise<string[]> {
    await this.loadMeta()
    return [...new Set([...this.opted, ...[...this.current.entries()].filter(([, epoch]) => epoch > 0).map(([id]) => id)])]
  }

  async isEncrypted(collectionId: string): Promise<boolean> {
    await this.loadMeta()
    return this.opted.has(collectionId) || (this.current.get(collectionId) ?? 0) > 0
  }

  /**
   * isEncrypted for data about to be sent: a collection not known as
   * encrypted here is looked up in the store again, since this tab pushes
   * the writes of other tabs on the store, and one of them may have opened
   * it as encrypted (stored before its first write: Roost.optedIn).
   */
  async isEncryptedForWrite(collectionId: string): Promise<boolean> {
    if (await this.isEncrypted(collectionId)) return true
    await this.readOpted()
    return this.opted.has(collectionId)
  }

  /** The current key epoch as last seen (0: none yet). */
  async currentEpoch(collectionId: string): Promise<number> {
    await this.loadMeta()
    return this.current.get(collectionId) ?? 0
  }

  // ---- collection keys ----

  /**
   * Asks the server for the collection's epochs and our wrapped keys, and
   * unwraps them. Concurrent calls share one round; `force: false` skips it
   * when one ran in the last 2 s (a key that is missing stays missing for a
   * while: no request storm from a page of records).
   */
  async refresh(collectionId: string, options: { force?: boolean } = {}): Promise<void> {
    const running = this.refreshing.get(collectionId)
    if (running) return running
    if (!options.force && Date.now() - (this.lastRefresh.get(collectionId) ?? 0) < REFRESH_EVERY_MS) return
    const round = this.fetchKeys(collectionId).finally(() => {
      this.refreshing.delete(collectionId)
      this.lastRefresh.set(collectionId, Date.now())
    })
    this.refreshing.set(collectionId, round)
    return round
  }

  private async fetchKeys(collectionId: string): Promise<void> {
    await this.loadMeta()
    const epochs = await this.deps.rest.call<KeyEpoch[]>({ method: 'GET', path: epochsPath(collectionId) })
    const latest = epochs.reduce((max, epoch) => Math.max(max, epoch.epoch), 0)
    // The epoch never goes back on this device: a server that hides epochs cannot make us write under an old key.
    const known = this.current.get(collectionId) ?? 0
    if (latest > known) {
      this.current.set(collectionId, latest)
      await this.deps.store.write([{ type: 'putMeta', key: epochsKey(collectionId), value: latest }])
    }
    if (latest === 0) return
    const account = await this.getAccount()
    if (!account) return
    const mine: StoredWrapped[] = []
    for (let skip = 0; ; ) {
      const page = await this.deps.rest.call<{ total: number; data: CollectionKey[] }>({
        method: 'GET',
        path: keysPath(collectionId),
        query: { userId: account.userId, $limit: 100, $skip: skip }
      })
      for (const row of page.data) mine.push({ epoch: row.epoch, keyVersion: row.keyVersion, wrappedKey: row.wrappedKey as WrappedKey, wrappedBy: row.wrappedBy })
      skip += page.data.length
      if (page.data.length === 0 || skip >= page.total) break
    }
    await this.deps.store.write([{ type: 'putMeta', key: wrappedKey(collectionId), value: mine }])
    await this.unwrapAll(collectionId, mine, account)
  }

  private async unwrapAll(collectionId: string, rows: StoredWrapped[], account: Account) {
    const held = this.keys.get(collectionId) ?? new Map<number, EpochKey>()
    for (const row of rows) {
      if (held.has(row.epoch) || row.keyVersion !== account.keyVersion || typeof row.wrappedBy !== 'string') continue
      try {
        const senderKey = await this.wrapperKey(row.wrappedBy, account)
        if (!senderKey) continue
        const me = { userId: account.userId, keyVersion: account.keyVersion, privateKey: account.keys.privateKey, publicKey: account.keys.publicKey }
        const raw = await unwrapCollectionKey(row.wrappedKey, me, { collectionId, epoch: row.epoch }, { userId: row.wrappedBy, publicKey: senderKey })
        held.set(row.epoch, { raw, key: await importKeyRaw(raw) })
      } catch {
        // A wrapped key that does not open is as good as none: a manager wraps it again (`missing`).
      }
    }
    this.keys.set(collectionId, held)
  }

  /**
   * The public key a wrapped key must have been made with: ours, or the
   * one this device knows for the wrapper (first contact: the server's,
   * remembered from then on). A server that wraps a key of its own for us
   * cannot make it pass for a member's.
   */
  private async wrapperKey(userId: string, account: Account): Promise<Uint8Array | null> {
    if (userId === account.userId) return account.keys.publicKey
    const known = await this.deps.store.getMeta<KnownKey>(knownKey(userId))
    const bytes = known ? fromBase64url(known.publicKey) : undefined
    if (bytes) return bytes
    return (await this.publicKeyOf(userId).catch(() => null))?.publicKey ?? null
  }

  /** Keys unwrapped from what this device kept, without the server (an offline start). */
  private async loadStored(collectionId: string): Promise<void> {
    if (this.keys.has(collectionId)) return
    // One read (and unwrap) per collection for all callers, as for the account.
    let loading = this.storedLoading.get(collectionId)
    if (!loading) {
      loading = (async () => {
        const account = await this.getAccount()
        const rows = await this.deps.store.getMeta<StoredWrapped[]>(wrappedKey(collectionId))
        if (account && rows) await this.unwrapAll(collectionId, rows, account)
      })().finally(() => this.storedLoading.delete(collectionId))
      this.storedLoading.set(collectionId, loading)
    }
    return loading
  }

  /** The key of one epoch if it is in memory already (the fast path of a page of records), or undefined. */
  heldKey(collectionId: string, epoch: number): CryptoKey | undefined {
    return this.account ? this.keys.get(collectionId)?.get(epoch)?.key : undefined
  }

  /** The key of one epoch: from memory, what this device kept, or the server. KeyUnavailableError when none of them has it. */
  async keyFor(collectionId: string, epoch: number): Promise<CryptoKey> {
    return (await this.epochKey(collectionId, epoch)).key
  }

  private async epochKey(collectionId: string, epoch: number): Promise<EpochKey> {
    await this.requireAccount()
    await this.loadStored(collectionId)
    let found = this.keys.get(collectionId)?.get(epoch)
    if (!found) {
      await this.refresh(collectionId).catch((error: unknown) => {
        throw toRoostError(error)
      })
      found = this.keys.get(collectionId)?.get(epoch)
    }
    if (!found) throw new KeyUnavailableError(collectionId, epoch)
    return found
  }

  /**
   * The epoch and key new writes use: the newest epoch we hold a key for.
   * A collection with no epoch yet gets its first one here, when we may
   * manage it (a new encrypted collection); otherwise we wait for a key.
   */
  async writeKey(collectionId: string): Promise<{ epoch: number; key: CryptoKey }> {
    await this.requireAccount()
    await this.loadStored(collectionId)
    let epoch = await this.currentEpoch(collectionId)
    if (epoch === 0 || this.outdated.has(collectionId) || !this.keys.get(collectionId)?.has(epoch)) {
      const force = epoch === 0 || this.outdated.has(collectionId)
      this.outdated.delete(collectionId)
      await this.refresh(collectionId, { force })
      epoch = await this.currentEpoch(collectionId)
    }
    if (epoch === 0) {
      await this.startFirstEpoch(collectionId)
      epoch = await this.currentEpoch(collectionId)
    }
    return { epoch, key: await this.keyFor(collectionId, epoch) }
  }

  /** Adds a freshly made key of a new epoch (rotation, first epoch): this device made it, so no unwrapping. */
  async addOwnKey(collectionId: string, epoch: number, raw: Uint8Array, wrappedForMe: WrappedKey, account: Account): Promise<void> {
    const keyVersion = account.keyVersion
    const held = this.keys.get(collectionId) ?? new Map<number, EpochKey>()
    held.set(epoch, { raw, key: await importKeyRaw(raw) })
    this.keys.set(collectionId, held)
    const rows = (await this.deps.store.getMeta<StoredWrapped[]>(wrappedKey(collectionId))) ?? []
    const changes: Parameters<ClientStore['write']>[0] = [
      { type: 'putMeta', key: wrappedKey(collectionId), value: [...rows.filter((row) => row.epoch !== epoch), { epoch, keyVersion, wrappedKey: wrappedForMe, wrappedBy: account.userId }] }
    ]
    if (epoch > (this.current.get(collectionId) ?? 0)) {
      this.current.set(collectionId, epoch)
      changes.push({ type: 'putMeta', key: epochsKey(collectionId), value: epoch })
    }
    await this.deps.store.write(changes)
  }

  /** The epochs held in memory (after refresh/keyFor), for re-wrapping to a new member. */
  heldEpochs(collectionId: string): Array<[number, EpochKey]> {
    return [...(this.keys.get(collectionId) ?? new Map<number, EpochKey>()).entries()].sort(([a], [b]) => a - b)
  }

  /** A key epoch announced by the server (realtime `keys` event): look again at once. */
  invalidate(collectionId: string): void {
    this.lastRefresh.delete(collectionId)
    this.outdated.add(collectionId)
  }

  /** A record sealed under an older epoch than `epoch` was read: written before a rotation, or by a device that had not heard of it. */
  noteEpochRead(collectionId: string, epoch: number): void {
    if (epoch < (this.current.get(collectionId) ?? 0)) this.stale.add(collectionId)
  }

  /** The collections with records to re-encrypt, once each. */
  takeStale(): string[] {
    const list = [...this.stale]
    this.stale.clear()
    return list
  }

  private async startFirstEpoch(collectionId: string): Promise<void> {
    const account = await this.requireAccount()
    const raw = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const recipient = { userId: account.userId, keyVersion: account.keyVersion, publicKey: account.keys.publicKey }
    const wrapped = await wrapCollectionKey(raw, recipient, { collectionId, epoch: 1 }, senderOf(account))
    try {
      // A new collection has one member, us; a shared one that becomes encrypted needs a key for everyone.
      const others = await this.wrapForMembers(collectionId, 1, raw, { except: account.userId })
      await this.deps.rest.call({
        method: 'POST',
        path: epochsPath(collectionId),
        body: { epoch: 1, keys: [{ userId: account.userId, keyVersion: account.keyVersion, wrappedKey: wrapped }, ...others] }
      })
      await this.addOwnKey(collectionId, 1, raw, wrapped, account)
    } catch (caught) {
      const error = toRoostError(caught)
      // Another device or manager started it first: use theirs. A member who may not manage keys waits for one.
      if (error.code === 409 || error.code === 403) {
        await this.refresh(collectionId, { force: true })
        if ((await this.currentEpoch(collectionId)) > 0) return
        if (error.code === 403) throw new KeyUnavailableError(collectionId, 1, 'only an owner or admin can start encrypting a collection')
      }
      throw error
    }
  }

  // ---- other users' keys ----

  /**
   * Wraps `raw` (the key of `epoch`) for the collection's members that have
   * a public key, checking each against the key this device knew for them
   * (trust on first use; a changed key throws KeyChangedError and nothing
   * is sent).
   */
  async wrapForMembers(collectionId: string, epoch: number, raw: Uint8Array, options: { except?: string; only?: string[] } = {}) {
    const members: string[] = []
    for (let skip = 0; ; ) {
      const page = await this.deps.rest.call<{ total: number; data: Array<{ userId: string }> }>({
        method: 'GET',
        path: `collections/${encodeURIComponent(collectionId)}/members`,
        query: { $limit: 100, $skip: skip }
      })
      members.push(...page.data.map((member) => member.userId))
      skip += page.data.length
      if (page.data.length === 0 || skip >= page.total) break
    }
    const account = await this.requireAccount()
    const targets = members.filter((userId) => userId !== options.except && (options.only === undefined || options.only.includes(userId)))
    const keys: Array<{ userId: string; keyVersion: number; wrappedKey: WrappedKey }> = []
    for (const userId of targets) {
      const key = await this.publicKeyOf(userId)
      if (!key) continue // no key yet: the server does not count them; wrapped once they have one
      keys.push({ userId, keyVersion: key.keyVersion, wrappedKey: await wrapCollectionKey(raw, { userId, keyVersion: key.keyVersion, publicKey: key.publicKey }, { collectionId, epoch }, senderOf(account)) })
    }
    return keys
  }

  /** A user's public key from the server, checked against the one this device knew (null: they have none yet). */
  async publicKeyOf(userId: string): Promise<{ publicKey: Uint8Array; keyVersion: number } | null> {
    let answer: UserKey
    try {
      answer = await this.deps.rest.call<UserKey>({ method: 'GET', path: `user-keys/${encodeURIComponent(userId)}` })
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code === 404) return null
      throw error
    }
    const publicKey = fromBase64url(answer.publicKey)
    if (!publicKey || publicKey.length !== 32) throw new RoostError(502, 'BadGateway', `The server gave a malformed public key for user ${userId}`)
    const known = await this.deps.store.getMeta<KnownKey>(knownKey(userId))
    const knownBytes = known ? fromBase64url(known.publicKey) : undefined
    const status = checkKnownKey(knownBytes ? { userId, publicKey: knownBytes } : undefined, { userId, publicKey })
    if (status === 'changed') throw new KeyChangedError(userId, await fingerprint(knownBytes!), await fingerprint(publicKey))
    if (status === 'new' || known?.keyVersion !== answer.keyVersion) await this.remember(userId, publicKey, answer.keyVersion)
    return { publicKey, keyVersion: answer.keyVersion }
  }

  /** The app confirmed a user's key (after comparing fingerprints): the one the server gives now is trusted. */
  async trust(userId: string): Promise<void> {
    const answer = await this.deps.rest.call<UserKey>({ method: 'GET', path: `user-keys/${encodeURIComponent(userId)}` })
    const publicKey = fromBase64url(answer.publicKey)
    if (!publicKey || publicKey.length !== 32) throw new RoostError(502, 'BadGateway', `The server gave a malformed public key for user ${userId}`)
    await this.remember(userId, publicKey, answer.keyVersion)
  }

  private async remember(userId: string, publicKey: Uint8Array, keyVersion: number) {
    await this.deps.store.write([{ type: 'putMeta', key: knownKey(userId), value: { publicKey: toBase64url(publicKey), keyVersion } satisfies KnownKey }])
  }
}

/** Our account as the sender of a wrapped key (HPKE Auth mode). */
export const senderOf = (account: Account) => ({ userId: account.userId, privateKey: account.keys.privateKey, publicKey: account.keys.publicKey })
