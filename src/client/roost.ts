import type { ChangeEvent } from '../services/collections/collections.shared.js'
import { viewOf, type Collection, type RecordView, type TransactionScope } from './collection.js'
import { abortBatch, runBatch } from './engine/batch-upload.js'
import type { EngineContext } from './engine/context.js'
import { FatalError, ResyncNeeded } from './engine/failures.js'
import { GROUP_PREFIX, type GroupMeta } from './engine/groups.js'
import { resolveConflict, writeLocally, type WriteReceipt, type WriteRequest } from './engine/local-writes.js'
import { checkLockOptions, LockManager, type LockOptions } from './engine/locks.js'
import { cursorKey, pullCollection, type FeedPosition } from './engine/pull.js'
import { pushAll } from './engine/push.js'
import { SyncLoop } from './engine/sync-loop.js'
import { TabCoordinator, type TabMessage } from './engine/tabs.js'
import { ClientInputError, RoostError, toRoostError } from './errors.js'
import { AccountApi } from './e2e/account.js'
import { EncryptingCodec } from './e2e/codec.js'
import { webCryptoAesGcm, type AesGcm } from './crypto/aes-gcm.js'
import { KeyRing } from './e2e/keyring.js'
import { SharingApi } from './e2e/sharing.js'
import type { TamperedRecordError } from './crypto/errors.js'
import { assertId, uuid } from './ids.js'
import { Emitter, Value } from './observable.js'
import { Session, type AuthOptions } from './session.js'
import { memoryStore } from './stores/memory.js'
import { checkPageOptions, type PageOptions } from './stores/paging.js'
import type { ClientStore } from './stores/types.js'
import { RealtimeConnection } from './transport/realtime.js'
import { RestTransport } from './transport/rest.js'
import type { ClientError, CollectionEvent, ConflictPolicy, Json, Observable, OutboxEntry, Progress, ServerChange, SyncStatus, WriteOutcome } from './types.js'
import { ServerApiClient, type ServerApi } from './server-api.js'

export interface RoostOptions {
  /** The server, such as `https://sync.example.com`. */
  url: string
  auth: AuthOptions
  /** Where everything is kept (default: memory, lost with the process). */
  store?: ClientStore
  /** Hear changes over socket.io as they commit (default true); false: REST only, polling. */
  realtime?: boolean
  /** Pull every this many ms when realtime is off or down (default 10000); with realtime up, every 6 times that as a safety net. */
  pollIntervalMs?: number
  /** Retries after a failure: first after about `baseMs`, doubling up to `maxMs` (defaults 500 and 30000), with jitter. */
  retry?: { baseMs?: number; maxMs?: number }
  /** A call without an answer after this long counts as lost (default 30000). */
  timeoutMs?: number
  /** The conflict policy of collections that name none (default 'manual'). */
  conflictPolicy?: ConflictPolicy
  /** From this many pending records on, one batch carries them (default 8). */
  batchThreshold?: number
  /** Change-feed page size, 1–1000 (default 1000). */
  pageSize?: number
  /** Start syncing at once (default true); otherwise call `start()`. */
  autoStart?: boolean
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch
  /**
   * AES-256-GCM for end-to-end encrypted collections (default WebCrypto's).
   * In Node, `nodeAesGcm` from `roost/client/node` is about five times
   * cheaper per record.
   */
  aesGcm?: AesGcm
}

export interface CollectionOptions {
  /** How conflicts of this collection are resolved (default: the client's `conflictPolicy`). */
  conflictPolicy?: ConflictPolicy
  /** Create the collection on the server if it does not exist yet (default true). */
  create?: boolean
  /**
   * End-to-end encrypted (docs/ENCRYPTION.md): record data is encrypted on
   * this device and the server stores only ciphertext. Needs the account's
   * keys on this device (`roost.account`). Once on, it stays on: a
   * collection shared with us that the server shows as encrypted is treated
   * as such even without this flag.
   */
  encrypted?: boolean
}

/** A record that failed to decrypt (see `roost.tamperedRecords`). */
export interface TamperedRecord {
  collectionId: string
  id: string
  version: number
  seq: number
  reason: string
  message: string
  at: string
}

const TAMPERED_PREFIX = 'e2e:tampered:'
const COLLECTIONS = 'collections'
/** Collections `forget` dropped, for the other tabs on the store (the most recent 1000). */
const FORGOTTEN = 'forgotten'
const FATAL = 'fatal'
const CLIENT_ID = 'clientId'
const FIRST_SYNC = 'firstSyncDone'
const LAST_SYNCED = 'lastSyncedAt'

const emptyStatus = (): SyncStatus => ({
  connected: false,
  live: false,
  pushing: false,
  pulling: false,
  pending: 0,
  oldestPendingAt: null,
  conflicts: 0,
  rejected: 0,
  lastSyncedAt: null,
  firstSyncDone: false,
  error: null,
  fatal: null
})

/**
 * An offline-first Roost client: every read and write goes to the local
 * store at once, and a sync loop pushes local writes (outbox) and pulls the
 * change feed in the background. See docs/CLIENT.md.
 */
export class Roost {
  readonly store: ClientStore
  private readonly options: Required<Omit<RoostOptions, 'store' | 'fetch' | 'retry' | 'aesGcm'>> & { retry: { baseMs: number; maxMs: number } }
  private readonly rest: RestTransport
  private readonly session: Session
  private readonly statusValue = new Value<SyncStatus>(emptyStatus())
  private readonly outcomeEvents = new Emitter<WriteOutcome>()
  private readonly progressEvents = new Emitter<Progress>()
  private readonly changedEvents = new Emitter<string[]>()
  private readonly serverChangeEvents = new Emitter<ServerChange>()
  private readonly collectionEvents = new Emitter<CollectionEvent>()
  /** Collections `forget` dropped (until opened again): pulls in flight store nothing more of them, fatal errors about them are moot. */
  private readonly forgottenHere = new Set<string>()
  /** When this client object last opened each collection (`collection()`, ms): one forgotten before that (by any tab) syncs again. */
  private readonly openedHere = new Map<string, number>()
  /** When this client object forgot each collection (ms): opening it again here is always later, even within the same millisecond. */
  private readonly forgotAt = new Map<string, number>()
  private readonly policies = new Map<string, ConflictPolicy>()
  private readonly creates = new Map<string, boolean>()
  /** Collections opened with `encrypted: true`, until that is stored: their writes wait for it (see optedIn). */
  private readonly optIns = new Map<string, Promise<void>>()
  private readonly collections = new Set<string>()
  private readonly recentOutcomes = new Map<string, WriteOutcome>()
  private readonly waiters = new Map<string, Array<(outcome: WriteOutcome) => void>>()
  /** Collections being pulled because a change event announced something new: 'again' when more came meanwhile. */
  private readonly eventPulls = new Map<string, 'running' | 'again'>()
  /** Ids of the writes made through this client object (most recent 10000): `awaitWrite` waits for their outcome even once their outbox entry is gone. */
  private readonly madeHere = new Set<string>()
  private syncedWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  private readonly ctx: EngineContext
  private readonly loop: SyncLoop
  private readonly locks: LockManager
  private readonly tabs: TabCoordinator
  private realtime: RealtimeConnection | null = null
  /** Collections the current socket connection is subscribed to. */
  private readonly subscribed = new Set<string>()
  private started = false
  private closed = false
  private ready: Promise<void>
  private statusTimer: ReturnType<typeof setTimeout> | null = null
  /** Bumped by every local write: a cycle that saw none during it has nothing more to push. */
  private writes = 0
  private writesAtCycleStart = 0
  private readonly detach: Array<() => void> = []
  private readonly keyring: KeyRing
  private readonly tamperedEvents = new Emitter<TamperedRecord>()
  /** When each encrypted collection last had its members' missing keys looked at (ms). */
  private readonly keysSharedAt = new Map<string, number>()
  /** The account's keys on this device: create, import (recovery phrase, QR, passphrase), fingerprints. */
  readonly account: AccountApi
  /** Invitations carrying keys, member removal with key rotation, re-encryption. */
  readonly sharing: SharingApi
  /** Online calls: collections, members, invitations, locks, open batches, server records, stats, export. */
  readonly server: ServerApi

  constructor(options: RoostOptions) {
    if (!options || typeof options.url !== 'string') throw new ClientInputError('createRoost needs { url, auth }')
    let protocol: string | null = null
    try {
      protocol = new URL(options.url).protocol
    } catch {
      protocol = null
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ClientInputError(`"url" ${JSON.stringify(options.url)} is not an http(s) URL`)
    const auth = options.auth as Partial<{ email: unknown; password: unknown; accessToken: unknown }> | undefined
    const validAuth = auth && ((typeof auth.email === 'string' && typeof auth.password === 'string') || typeof auth.accessToken === 'string')
    if (!validAuth) throw new ClientInputError('"auth" must be { email, password } or { accessToken }')
    const pageSize = options.pageSize ?? 1000
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new ClientInputError('"pageSize" must be a whole number from 1 to 1000')
    const positive = (value: unknown, name: string) => {
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
        throw new ClientInputError(`"${name}" must be a positive number of milliseconds, not ${JSON.stringify(value)}`)
      }
    }
    positive(options.pollIntervalMs, 'pollIntervalMs')
    positive(options.timeoutMs, 'timeoutMs')
    positive(options.retry?.baseMs, 'retry.baseMs')
    positive(options.retry?.maxMs, 'retry.maxMs')
    if (options.batchThreshold !== undefined && !(Number.isInteger(options.batchThreshold) && options.batchThreshold >= 1)) {
      throw new ClientInputError(`"batchThreshold" must be a whole number of at least 1, not ${JSON.stringify(options.batchThreshold)}`)
    }
    this.options = {
      url: options.url,
      auth: options.auth,
      realtime: options.realtime ?? true,
      pollIntervalMs: options.pollIntervalMs ?? 10_000,
      retry: { baseMs: options.retry?.baseMs ?? 500, maxMs: options.retry?.maxMs ?? 30_000 },
      timeoutMs: options.timeoutMs ?? 30_000,
      conflictPolicy: options.conflictPolicy ?? 'manual',
      batchThreshold: options.batchThreshold ?? 8,
      pageSize,
      autoStart: options.autoStart ?? true
    }
    this.store = options.store ?? memoryStore()
    this.rest = new RestTransport({ url: options.url, token: () => this.session.token, timeoutMs: this.options.timeoutMs, fetch: options.fetch })
    this.session = new Session(this.store, () => this.rest, options.auth)
    this.ctx = {
      store: this.store,
      rest: this.rest,
      userId: () => this.session.userId,
      policy: (collectionId) => this.policies.get(collectionId) ?? this.options.conflictPolicy,
      changed: (collectionIds) => {
        const list = [...collectionIds]
        if (list.length === 0) return
        this.changedEvents.emit(list)
        this.tabs.post({ type: 'changed', collectionIds: list })
        this.refreshStatus()
      },
      outcomes: this.outcomeEvents,
      progress: this.progressEvents,
      appendOperations: 1000,
      appendBytes: 512 * 1024,
      now: () => new Date().toISOString(),
      codec: new EncryptingCodec((this.keyring = new KeyRing({ store: this.store, rest: this.rest, userId: () => this.session.userId })), options.aesGcm ?? webCryptoAesGcm),
      tampered: (error, record) => void this.reportTampered(error, record),
      serverChanges: (changes) => {
        for (const change of changes) this.serverChangeEvents.emit(change)
        this.tabs.post({ type: 'serverChanges', changes })
      },
      forgotten: (collectionId) => this.forgottenHere.has(collectionId)
    }
    const signedIn = async () => {
      await this.ready
      await this.session.ensure()
      return this.session.userId!
    }
    this.account = new AccountApi({ ring: this.keyring, rest: this.rest, store: this.store, signedIn })
    this.sharing = new SharingApi({
      ring: this.keyring,
      rest: this.rest,
      aes: options.aesGcm ?? webCryptoAesGcm,
      signedIn,
      lock: (collectionId, options) => this.lockCollection(collectionId, options),
      runBatch: (plan) => runBatch(this.ctx, plan),
      abortBatch: (batchId) => abortBatch(this.ctx, batchId)
    })
    this.server = new ServerApiClient({
      rest: this.rest,
      signedIn,
      renew: async (error) => {
        await this.session.renew(error)
        this.realtime?.refresh()
      },
      ring: this.keyring,
      sharing: this.sharing,
      forgetLocal: (collectionId) => this.forget(collectionId, { discard: true })
    })
    this.outcomeEvents.on((outcome) => this.settle(outcome))
    this.locks = new LockManager({
      rest: this.rest,
      holderId: () => this.clientId(),
      flushWrites: (collectionId, token, until) => this.flushWrites(collectionId, token, until)
    })
    this.loop = new SyncLoop(
      {
        cycle: () => this.cycle(),
        active: () => this.started && !this.closed && this.tabs.isLeader && !this.statusValue.get().fatal,
        onSuccess: () =>
          void this.afterSuccess().catch((error: unknown) => {
            // close() during the cycle closed the store under it: nothing to report. Otherwise show it; the next cycle tries again.
            if (!this.closed) this.patchStatus({ error: this.clientError(toRoostError(error)) })
          }),
        onTransient: (error) => this.patchStatus({ error: this.clientError(error), connected: error.code !== 0 && this.statusValue.get().connected, pushing: false, pulling: false }),
        onFatal: (error) => void this.enterFatal(error)
      },
      this.options.retry
    )
    this.tabs = new TabCoordinator(this.store.name, {
      becameLeader: () => this.onLeader(),
      lostLeadership: () => this.onFollower(),
      message: (message) => this.onTabMessage(message)
    })
    this.ready = this.load()
    if (this.options.autoStart) void this.start()
  }

  /** The sync status, observable: `roost.status.subscribe(s => …)`. */
  get status(): Observable<SyncStatus> {
    return this.statusValue
  }

  /** The signed-in user's id: null until the first sign-in (or the stored session) is known. */
  get userId(): string | null {
    return this.session.userId
  }

  /**
   * Whether this client is the one that syncs its store: among browser tabs
   * of one app on one store, one tab leads (pushes, pulls, holds the socket)
   * and the others hand it their writes. Outside browsers every started
   * client leads. False before `start()` and after `close()`.
   */
  get isLeader(): boolean {
    return this.tabs.isLeader
  }

  /** Starts syncing (done by `createRoost` unless `autoStart: false`). */
  async start(): Promise<void> {
    if (this.started || this.closed) return
    this.started = true
    await this.ready
    this.tabs.start()
    // A follower shows the leader's status: ask for it now rather than at the leader's next change.
    this.tabs.post({ type: 'hello' })
    if (typeof window !== 'undefined') {
      const online = () => this.loop.kick(true)
      const visible = () => document.visibilityState === 'visible' && this.loop.kick(true)
      window.addEventListener('online', online)
      document.addEventListener('visibilitychange', visible)
      this.detach.push(() => window.removeEventListener('online', online), () => document.removeEventListener('visibilitychange', visible))
    }
  }

  /** A synced collection (created on the server at the first sync unless `create: false`). */
  collection<T = Json>(collectionId: string, options: CollectionOptions = {}): Collection<T> {
    assertId(collectionId, 'The collection id')
    this.forgottenHere.delete(collectionId)
    this.openedHere.set(collectionId, Math.max(Date.now(), (this.forgotAt.get(collectionId) ?? 0) + 1))
    if (options.conflictPolicy !== undefined) this.policies.set(collectionId, checkPolicy(options.conflictPolicy))
    this.creates.set(collectionId, options.create ?? true)
    if (options.encrypted === true) {
      const stored = this.keyring.optIn(collectionId)
      stored.catch(() => undefined) // a failure surfaces on the next write to the collection (optedIn)
      this.optIns.set(collectionId, stored)
    }
    if (!this.collections.has(collectionId) || this.forgottenHere.has(collectionId)) {
      this.collections.add(collectionId)
      // The leader pulls it: this tab's loop, or another tab's (it reads the collection list from the shared store).
      void this.ready.then(() => this.persistCollections()).then(() => this.kickLeader())
    }
    const roost = this
    const write = (request: WriteRequest) => roost.writeNow([request])
    return {
      id: collectionId,
      async get(id) {
        assertId(id, 'The record id')
        const record = await roost.store.getRecord(collectionId, id)
        return record ? viewOf<T>(record) : undefined
      },
      async list() {
        return (await roost.store.listRecords(collectionId)).filter((record) => !record.deleted).map((record) => viewOf<T>(record))
      },
      async page(options) {
        let checked: PageOptions
        try {
          checked = checkPageOptions(options)
        } catch (error) {
          throw new ClientInputError(`collection.page: ${(error as Error).message}`)
        }
        await roost.ready
        const page = await roost.store.pageRecords(collectionId, checked)
        return { records: page.records.map((record) => viewOf<T>(record)), matching: page.matching, total: page.total }
      },
      watch(listener: (records: RecordView<T>[]) => void) {
        let stopped = false
        let again = false
        let running = false
        const refresh = async () => {
          if (running) return void (again = true)
          running = true
          try {
            do {
              again = false
              const records = await this.list()
              if (!stopped) listener(records)
            } while (again && !stopped)
          } finally {
            running = false
          }
        }
        const off = roost.changedEvents.on((ids) => ids.includes(collectionId) && void refresh())
        void refresh()
        return () => {
          stopped = true
          off()
        }
      },
      put: (id, data) => write({ collectionId, id, op: 'put', data }).then((receipts) => receipts[0]),
      patch: (id, fields) => write({ collectionId, id, op: 'patch', data: fields }).then((receipts) => receipts[0]),
      delete: (id) => write({ collectionId, id, op: 'delete' }).then((receipts) => receipts[0]),
      resolve: async (id, resolution) => {
        const receipt = await resolveConflict(roost.ctx, collectionId, id, resolution)
        roost.wakeSync()
        return receipt
      },
      lock: (options?: LockOptions) => roost.lockCollection(collectionId, options)
    }
  }

  /**
   * Several writes that must land together: applied locally at once, and
   * uploaded as one server batch (resumed after a crash, committed once).
   * Other clients see the whole group at once.
   */
  async transaction(collect: (scope: TransactionScope) => void): Promise<{ groupId: string; writes: WriteReceipt[] }> {
    const requests: WriteRequest[] = []
    collect({
      put: (collectionId, id, data) => void requests.push({ collectionId, id, op: 'put', data }),
      patch: (collectionId, id, fields) => void requests.push({ collectionId, id, op: 'patch', data: fields }),
      delete: (collectionId, id) => void requests.push({ collectionId, id, op: 'delete' })
    })
    if (requests.length === 0) throw new ClientInputError('A transaction needs at least one write')
    const groupId = uuid()
    await this.ready
    await this.optedIn(requests)
    const writes = await writeLocally(this.ctx, requests, { groupId, lockToken: (collectionId) => this.locks.tokenFor(collectionId) })
    this.remember(writes)
    for (const collectionId of new Set(requests.map((request) => request.collectionId))) if (!this.collections.has(collectionId)) this.collection(collectionId)
    this.wakeSync()
    return { groupId, writes }
  }

  /** Resolves with the write's outcome: applied, conflict or rejected. */
  awaitWrite(writeId: string): Promise<WriteOutcome> {
    const known = this.recentOutcomes.get(writeId)
    if (known) return Promise.resolve(known)
    return new Promise((resolve, reject) => {
      void this.store.listOutbox().then((outbox) => {
        const entry = outbox.find((candidate) => candidate.id === writeId)
        const outcome = this.recentOutcomes.get(writeId)
        if (outcome) return resolve(outcome)
        if (entry?.state === 'rejected' && entry.reason) {
          return resolve({ writeId, collectionId: entry.collectionId, recordId: entry.recordId, status: 'rejected', error: entry.reason })
        }
        if (!entry) {
          // Gone from the outbox with no outcome heard yet: settled just now (its outcome is announced right
          // after the store write, or comes from the leader tab a moment later). A write this client made is
          // waited for; another one gets a last look after the current task.
          if (!this.madeHere.has(writeId)) {
            return void setTimeout(() => {
              const late = this.recentOutcomes.get(writeId)
              if (late) resolve(late)
              else reject(new ClientInputError(`No write ${writeId} is known to this client`))
            }, 0)
          }
        }
        const list = this.waiters.get(writeId) ?? []
        list.push(resolve)
        this.waiters.set(writeId, list)
      }, reject)
    })
  }

  /** Every write's outcome as it happens. */
  onOutcome(listener: (outcome: WriteOutcome) => void): () => void {
    return this.outcomeEvents.on(listener)
  }

  /** Progress of long uploads and downloads ("120 of 300"). */
  onProgress(listener: (progress: Progress) => void): () => void {
    return this.progressEvents.on(listener)
  }

  /** Resolves when the outbox is empty (parked writes aside) and every collection is pulled to the end. Rejects on a fatal error. */
  whenSynced(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fatal = this.statusValue.get().fatal
      if (fatal) return reject(new RoostError(fatal.code, fatal.name, fatal.message))
      this.syncedWaiters.push({ resolve, reject })
      // An explicit wait tries at once, even while backing off after a failure.
      if (this.tabs.isLeader) this.loop.kick(true)
      else this.wakeSync()
    })
  }

  /** Writes refused for good, with their reasons, until dismissed. */
  async rejectedWrites(): Promise<OutboxEntry[]> {
    return (await this.store.listOutbox()).filter((entry) => entry.state === 'rejected')
  }

  async dismissRejected(writeId: string): Promise<void> {
    await this.store.runExclusive(async () => {
      const entry = (await this.store.listOutbox()).find((candidate) => candidate.id === writeId)
      if (entry?.state === 'rejected') await this.store.write([{ type: 'deleteOutbox', id: writeId }])
    })
    this.refreshStatus()
  }

  /**
   * Records of encrypted collections that failed to decrypt (changed on
   * the server, moved from another record, or sealed with a key we do not
   * trust): not shown, listed here until a good version arrives.
   */
  async tamperedRecords(): Promise<TamperedRecord[]> {
    return (await this.store.listMeta<TamperedRecord>(TAMPERED_PREFIX)).map(([, record]) => record)
  }

  /** Each record that fails to decrypt, as it is found. */
  onTampered(listener: (record: TamperedRecord) => void): () => void {
    return this.tamperedEvents.on(listener)
  }

  /** Records whose conflict waits for `collection.resolve`. */
  async conflicts(): Promise<RecordView[]> {
    return (await this.store.listPendingRecords()).filter((record) => record.conflict).map((record) => viewOf(record))
  }

  /**
   * Leaves the fatal state (after the app dealt with it: signed in again, dropped a collection…) and syncs again.
   * `forgetCollection`: stop syncing that collection, and drop its local records and unsent writes (each ends
   * `rejected` with the fatal error).
   */
  async resetError(options: { forgetCollection?: string } = {}): Promise<void> {
    if (options.forgetCollection !== undefined) assertId(options.forgetCollection, 'The collection id')
    await this.ready
    const forget = options.forgetCollection
    const dropped: WriteOutcome[] = []
    await this.store.runExclusive(async () => {
      const changes: Parameters<ClientStore['write']>[0] = [{ type: 'deleteMeta', key: FATAL }]
      if (forget) {
        this.collections.delete(forget)
        changes.push({ type: 'putMeta', key: COLLECTIONS, value: [...this.collections] }, { type: 'deleteMeta', key: `cursor:${forget}` })
        // Its records and unsent writes go with it: pushed again, they would only meet the same 404.
        changes.push({ type: 'clearRecords', collectionId: forget })
        const fatal = this.statusValue.get().fatal
        const error = { code: fatal?.code ?? 404, name: fatal?.name ?? 'NotFound', message: fatal?.message ?? `Collection "${forget}" was forgotten` }
        for (const entry of await this.store.listOutbox()) {
          if (entry.collectionId !== forget) continue
          changes.push({ type: 'deleteOutbox', id: entry.id })
          if (entry.state === 'pending') dropped.push({ writeId: entry.id, collectionId: forget, recordId: entry.recordId, status: 'rejected', error })
        }
        // Groups keep their writes to other collections, which still land together.
        for (const [key, group] of await this.store.listMeta<GroupMeta>(GROUP_PREFIX)) {
          const items = group.items.filter((item) => item.collectionId !== forget)
          if (items.length === group.items.length) continue
          changes.push(items.length === 0 ? { type: 'deleteMeta', key } : { type: 'putMeta', key, value: { ...group, items, plan: null } })
        }
      }
      await this.store.write(changes)
    })
    this.patchStatus({ fatal: null, error: null })
    for (const outcome of dropped) this.outcomeEvents.emit(outcome)
    if (forget) this.ctx.changed([forget])
    this.refreshStatus()
    this.loop.kick(true)
  }

  /**
   * Stops syncing a collection and drops its local copy: records, feed
   * cursor, socket subscription, failed-decryption reports. Writes not yet
   * on the server make it a ClientInputError, unless `discard: true`: then
   * they are dropped too, each ending `rejected` (code 0, name 'Discarded').
   * Opening the collection again later downloads it anew.
   */
  async forget(collectionId: string, options: { discard?: boolean } = {}): Promise<void> {
    assertId(collectionId, 'The collection id')
    if (options === null || typeof options !== 'object' || (options.discard !== undefined && typeof options.discard !== 'boolean')) {
      throw new ClientInputError(`forget takes { discard?: boolean }, not ${JSON.stringify(options)}`)
    }
    await this.ready
    const dropped: WriteOutcome[] = []
    await this.store.runExclusive(async () => {
      const outbox = (await this.store.listOutbox()).filter((entry) => entry.collectionId === collectionId)
      const unsent = outbox.filter((entry) => entry.state !== 'rejected')
      const pendingRecords = (await this.store.listPendingRecords()).filter((record) => record.collectionId === collectionId)
      if ((unsent.length > 0 || pendingRecords.length > 0) && options.discard !== true) {
        throw new ClientInputError(
          `Collection "${collectionId}" has ${Math.max(unsent.length, pendingRecords.length)} write(s) not yet on the server: forget it with { discard: true } to drop them`
        )
      }
      this.forgottenHere.add(collectionId)
      this.openedHere.delete(collectionId)
      this.collections.delete(collectionId)
      const at = Date.now()
      this.forgotAt.set(collectionId, at)
      const stored = (await this.store.getMeta<string[]>(COLLECTIONS)) ?? []
      const forgotten = (await this.store.getMeta<Array<[string, number]>>(FORGOTTEN)) ?? []
      const changes: Parameters<ClientStore['write']>[0] = [
        { type: 'putMeta', key: COLLECTIONS, value: stored.filter((id) => id !== collectionId) },
        // For the other tabs on this store, whose list of collections may still name it (see persistCollections).
        { type: 'putMeta', key: FORGOTTEN, value: [...forgotten.filter(([id]) => id !== collectionId), [collectionId, at]].slice(-1000) },
        { type: 'deleteMeta', key: cursorKey(collectionId) },
        { type: 'clearRecords', collectionId }
      ]
      const error = { code: 0, name: 'Discarded', message: `Collection "${collectionId}" was forgotten on this device before this write reached the server` }
      for (const entry of outbox) {
        changes.push({ type: 'deleteOutbox', id: entry.id })
        if (entry.state !== 'rejected') dropped.push({ writeId: entry.id, collectionId, recordId: entry.recordId, status: 'rejected', error })
      }
      // Groups keep their writes to other collections, which still land together.
      for (const [key, group] of await this.store.listMeta<GroupMeta>(GROUP_PREFIX)) {
        const items = group.items.filter((item) => item.collectionId !== collectionId)
        if (items.length === group.items.length) continue
        changes.push(items.length === 0 ? { type: 'deleteMeta', key } : { type: 'putMeta', key, value: { ...group, items, plan: null } })
      }
      for (const [key] of await this.store.listMeta(`${TAMPERED_PREFIX}${collectionId}\u0000`)) changes.push({ type: 'deleteMeta', key })
      if ((await this.store.getMeta<ClientError>(FATAL))?.collectionId === collectionId) changes.push({ type: 'deleteMeta', key: FATAL })
      await this.store.write(changes)
    })
    this.policies.delete(collectionId)
    this.creates.delete(collectionId)
    this.optIns.delete(collectionId)
    if (this.subscribed.delete(collectionId)) this.realtime?.unsubscribe(collectionId).catch(() => undefined)
    this.tabs.post({ type: 'forgot', collectionId })
    if (this.statusValue.get().fatal?.collectionId === collectionId) this.patchStatus({ fatal: null, error: null })
    for (const outcome of dropped) this.outcomeEvents.emit(outcome)
    this.ctx.changed([collectionId])
    this.refreshStatus()
    this.kickLeader()
  }

  /**
   * Each server change the client applies, from a pull or a realtime event
   * (a pull it started), once per change (`seq`), after it is in the local
   * store: for a live view of what changes. Returns a function that stops it.
   */
  onServerChange(listener: (change: ServerChange) => void): () => void {
    return this.serverChangeEvents.on(isolated(listener))
  }

  /**
   * The realtime events about collections this client hears (locks,
   * membership, deletion, keys), so an app can refresh what it shows.
   * Only while the socket is up (`realtime: true`). Returns a function that stops it.
   */
  onCollectionEvent(listener: (event: CollectionEvent) => void): () => void {
    return this.collectionEvents.on(isolated(listener))
  }

  /** Stops syncing and closes the store. Pending writes stay in the store for next time. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.loop.stop()
    this.locks.stopAll()
    this.realtime?.stop()
    this.tabs.close()
    for (const off of this.detach) off()
    if (this.statusTimer) clearTimeout(this.statusTimer)
    for (const waiter of this.syncedWaiters) waiter.reject(new Error('The client was closed'))
    this.syncedWaiters = []
    // Let a cycle in flight end (it fails fast once the store is closed otherwise), then close the store.
    await this.loop.idle()
    await this.store.close()
  }

  // ---- internals ----

  private async load() {
    const [collections, fatal, firstSyncDone, lastSyncedAt] = await Promise.all([
      this.store.getMeta<string[]>(COLLECTIONS),
      this.store.getMeta<ClientError>(FATAL),
      this.store.getMeta<boolean>(FIRST_SYNC),
      this.store.getMeta<string>(LAST_SYNCED)
    ])
    for (const id of collections ?? []) this.collections.add(id)
    this.patchStatus({ fatal: fatal ?? null, firstSyncDone: firstSyncDone ?? false, lastSyncedAt: lastSyncedAt ?? null })
    this.refreshStatus()
  }

  /**
   * Merges this client's collections with the store's list (other tabs'). A
   * collection another tab forgot is dropped here too, unless this client
   * opened it again since; then it is no longer forgotten.
   */
  private async persistCollections() {
    const stored = (await this.store.getMeta<string[]>(COLLECTIONS)) ?? []
    const forgotten = (await this.store.getMeta<Array<[string, number]>>(FORGOTTEN)) ?? []
    // Forgotten after this client last opened it (a tie counts as after): gone. Opened here since: it syncs again.
    const still = forgotten.filter(([id, at]) => (this.openedHere.get(id) ?? -Infinity) <= at)
    const gone = new Set(still.map(([id]) => id))
    for (const id of gone) {
      this.collections.delete(id)
      this.forgottenHere.add(id)
      if (this.subscribed.delete(id)) this.realtime?.unsubscribe(id).catch(() => undefined)
    }
    const all = [...new Set([...stored, ...this.collections])].filter((id) => !gone.has(id))
    const changes: Parameters<ClientStore['write']>[0] = []
    if (all.length !== stored.length || all.some((id, index) => stored[index] !== id)) changes.push({ type: 'putMeta', key: COLLECTIONS, value: all })
    if (still.length !== forgotten.length) changes.push({ type: 'putMeta', key: FORGOTTEN, value: still })
    if (changes.length > 0) await this.store.write(changes)
    for (const id of all) this.collections.add(id)
  }

  private async reportTampered(error: TamperedRecordError, record: { collectionId: string; id: string; version: number; seq: number }) {
    const entry: TamperedRecord = { collectionId: record.collectionId, id: record.id, version: record.version, seq: record.seq, reason: error.reason, message: error.message, at: new Date().toISOString() }
    await this.store.write([{ type: 'putMeta', key: `${TAMPERED_PREFIX}${record.collectionId}\u0000${record.id}`, value: entry }]).catch(() => undefined)
    this.tamperedEvents.emit(entry)
  }

  private async clientId(): Promise<string> {
    const known = await this.store.getMeta<string>(CLIENT_ID)
    if (known) return known
    const id = uuid()
    await this.store.write([{ type: 'putMeta', key: CLIENT_ID, value: id }])
    return id
  }

  private async writeNow(requests: WriteRequest[]) {
    await this.ready
    await this.optedIn(requests)
    const receipts = await writeLocally(this.ctx, requests, { lockToken: (collectionId) => this.locks.tokenFor(collectionId) })
    this.remember(receipts)
    this.wakeSync()
    return receipts
  }

  /**
   * Waits until the store says the requests' collections are encrypted
   * (for those opened so): the tab that pushes a write may be another one,
   * and it must find that in the store before it finds the write, or the
   * write goes out in the clear.
   */
  private async optedIn(requests: WriteRequest[]) {
    await Promise.all([...new Set(requests.map((request) => request.collectionId))].map((collectionId) => this.optIns.get(collectionId)))
  }

  private remember(receipts: WriteReceipt[]) {
    for (const receipt of receipts) this.madeHere.add(receipt.writeId)
    for (const id of this.madeHere) {
      if (this.madeHere.size <= 10_000) break
      this.madeHere.delete(id)
    }
  }

  /** Something to push: the leader syncs, another tab asks the leader to. */
  private wakeSync() {
    this.writes++
    this.kickLeader()
  }

  private kickLeader() {
    if (this.tabs.isLeader) this.loop.kick()
    else this.tabs.post({ type: 'kick' })
  }

  private async withSession<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code !== 401) throw caught
      try {
        await this.session.renew(error)
      } catch (renewal) {
        const failure = toRoostError(renewal)
        throw failure.code === 401 || failure.code === 403 ? new FatalError(failure) : failure
      }
      this.realtime?.refresh()
      return fn()
    }
  }

  private async cycle() {
    this.writesAtCycleStart = this.writes
    await this.persistCollections()
    try {
      await this.session.ensure()
    } catch (caught) {
      const error = toRoostError(caught)
      throw error.code === 401 || error.code === 403 ? new FatalError(error) : error
    }
    if (this.options.realtime && !this.realtime) this.startRealtime()
    // A collection never pulled is pulled (and created if need be) before anything is pushed to it.
    for (const collectionId of [...this.collections]) {
      if (await this.store.getMeta(`cursor:${collectionId}`)) continue
      this.patchStatus({ pulling: true })
      await this.withSession(() => pullCollection(this.ctx, collectionId, { pageSize: this.options.pageSize, create: this.creates.get(collectionId) ?? true }))
    }
    // Subscribe before pulling: a change committed before the subscription is in the pull, one after it arrives as an event.
    await this.ensureSubscribed()
    for (let round = 0; round < 3; round++) {
      this.patchStatus({ pushing: true })
      await this.pushChecked()
      this.patchStatus({ pushing: false, pulling: true, connected: true })
      for (const collectionId of [...this.collections]) {
        await this.withSession(() => pullCollection(this.ctx, collectionId, { pageSize: this.options.pageSize, create: this.creates.get(collectionId) ?? true }))
      }
      this.patchStatus({ pulling: false })
      await this.shareMissingKeys()
      await this.reencryptStale()
      // A pulled record with local changes was left alone: push them, then pull again.
      const pending = await this.store.listPendingRecords()
      if (!pending.some((record) => !record.conflict)) break
    }
  }

  /**
   * As an owner or admin of encrypted collections, wraps keys for members
   * who lack them (accepted an invitation by e-mail, got a new public key):
   * at most every 30 s per collection, at once after a membership or key event.
   */
  private async shareMissingKeys() {
    if ((await this.account.status()) !== 'ready') return
    for (const collectionId of await this.keyring.encryptedCollections()) {
      if (!this.collections.has(collectionId) || Date.now() - (this.keysSharedAt.get(collectionId) ?? 0) < 30_000) continue
      this.keysSharedAt.set(collectionId, Date.now())
      await this.withSession(() => this.sharing.shareMissingKeys(collectionId)).catch(() => undefined)
    }
  }

  /**
   * A member left or was removed from an encrypted collection: as an owner
   * or admin, make sure the key is rotated (once, whoever does it: see
   * SharingApi.rotateAfterRemoval). Others, and plaintext collections, do nothing.
   */
  private async rotateAfterRemoval(collectionId: string) {
    try {
      if (this.closed || !this.tabs.isLeader || !(await this.keyring.isEncrypted(collectionId)) || (await this.account.status()) !== 'ready') return
      const known = await this.keyring.currentEpoch(collectionId)
      const collection = await this.rest.call<{ role: string }>({ method: 'GET', path: `collections/${encodeURIComponent(collectionId)}` })
      if (collection.role !== 'owner' && collection.role !== 'admin') return
      await this.withSession(() => this.sharing.rotateAfterRemoval(collectionId, known))
    } catch {
      // Offline, or no longer a manager: another manager's client, or the next removal, rotates.
    }
  }

  /**
   * Records still sealed under an older epoch (written before a rotation by
   * a device that had not heard of it yet) are re-encrypted under the
   * current one by whoever reads them and may write. A reader's attempt is
   * refused and harmless; several clients at once conflict and skip.
   */
  private async reencryptStale() {
    for (const collectionId of this.keyring.takeStale()) {
      if (!this.collections.has(collectionId)) continue
      await this.withSession(() => this.sharing.reencrypt(collectionId)).catch(() => undefined)
    }
  }

  /**
   * Pushes; when a push finds a collection not as our copy knows it, pulls
   * that collection (a 410 drops the copy and keeps pending writes as new
   * writes; a 404 is fatal) and pushes again. Twice for one collection in
   * one cycle means it really is gone.
   */
  private async pushChecked() {
    const checked = new Set<string>()
    for (;;) {
      try {
        return await this.withSession(() => pushAll(this.ctx, { batchThreshold: this.options.batchThreshold, concurrency: 4 }))
      } catch (caught) {
        if (!(caught instanceof ResyncNeeded)) throw caught
        const fresh = caught.collectionIds.filter((id) => !checked.has(id))
        if (fresh.length === 0) throw new FatalError(caught.error, caught.collectionIds[0])
        for (const collectionId of fresh) {
          checked.add(collectionId)
          // Never pulled here: a collection another tab opened and wrote to just now (this tab pushes its
          // writes). As at the start of a cycle, it is pulled, and created if need be, before its writes go.
          const neverPulled = !(await this.store.getMeta(cursorKey(collectionId)))
          const create = neverPulled && (this.creates.get(collectionId) ?? true)
          await this.withSession(() => pullCollection(this.ctx, collectionId, { pageSize: this.options.pageSize, create }))
        }
      }
    }
  }

  private async afterSuccess() {
    if (this.closed) return
    const status = await this.computeCounts()
    const now = new Date().toISOString()
    const synced = status.pending === 0
    const changes: Parameters<ClientStore['write']>[0] = []
    if (!this.statusValue.get().firstSyncDone) changes.push({ type: 'putMeta', key: FIRST_SYNC, value: true })
    if (synced) changes.push({ type: 'putMeta', key: LAST_SYNCED, value: now })
    if (changes.length > 0) await this.store.write(changes).catch(() => undefined)
    this.patchStatus({ ...status, connected: true, error: null, firstSyncDone: true, ...(synced ? { lastSyncedAt: now } : {}) })
    if (synced) {
      this.tabs.post({ type: 'synced' })
      const waiters = this.syncedWaiters
      this.syncedWaiters = []
      for (const waiter of waiters) waiter.resolve()
    } else if (this.writes !== this.writesAtCycleStart) {
      // Writes that came in during the cycle: go again. (Others wait for the retry timer or the next kick.)
      this.loop.kick()
    }
    const connected = this.realtime?.isReady ?? false
    this.loop.wakeAfter(connected ? this.options.pollIntervalMs * 6 : this.options.pollIntervalMs)
  }

  private async enterFatal(error: FatalError) {
    if (error.collectionId !== undefined && this.forgottenHere.has(error.collectionId) && !this.collections.has(error.collectionId)) {
      // A collection the app forgot meanwhile (deleted, left): nothing to stop for. The loop ended its cycle: start another.
      setTimeout(() => this.loop.kick(true), 0)
      return
    }
    const fatal: ClientError = { ...this.clientError(error.error), ...(error.collectionId ? { collectionId: error.collectionId } : {}) }
    await this.store.write([{ type: 'putMeta', key: FATAL, value: fatal }]).catch(() => undefined)
    this.patchStatus({ fatal, error: fatal, pushing: false, pulling: false })
    this.rejectSyncedWaiters(fatal)
  }

  private clientError(error: RoostError): ClientError {
    return { code: error.code, name: error.name, message: error.message, at: new Date().toISOString() }
  }

  private startRealtime() {
    this.realtime = new RealtimeConnection(
      this.options.url,
      () => this.session.token,
      {
        onReady: () => {
          // A new connection has no subscriptions: subscribe, then pull what was missed.
          this.subscribed.clear()
          this.loop.kick(true)
        },
        onDown: () => {
          this.subscribed.clear()
          this.patchStatus({ connected: false, live: false })
        },
        onChange: (event) => void this.onChange(event),
        onCollectionEvent: (type, payload) => this.handleCollectionEvent(type, payload),
        onAuthFailed: () => this.loop.kick()
      },
      this.options.timeoutMs
    )
    this.realtime.start()
  }

  /** Subscribes the socket to every collection not subscribed yet on this connection (those that exist: the pull creates them first). */
  private async ensureSubscribed() {
    const realtime = this.realtime
    if (!realtime?.isReady) return
    for (const collectionId of this.collections) {
      if (this.subscribed.has(collectionId) || !(await this.store.getMeta(`cursor:${collectionId}`))) continue
      try {
        await realtime.subscribe(collectionId)
        // The socket may have dropped (and been replaced) meanwhile: its reconnect subscribes everything again.
        if (realtime === this.realtime && realtime.isReady) this.subscribed.add(collectionId)
      } catch {
        // Not reachable or not a member: the pull says which; we try again next cycle.
      }
    }
    this.patchStatus({ live: [...this.collections].every((collectionId) => this.subscribed.has(collectionId)) })
  }

  /**
   * A change event is a poke: a change we do not have yet is fetched with a
   * pull of its collection, not applied from the event. Events come one per
   * record, so applying them one by one showed watchers part of a group
   * committed in one batch (the first record, then the rest); a feed page
   * is read in one go and applied in one local transaction, so the group
   * appears at once. Events already applied (seq <= last) cost nothing.
   */
  private async onChange(event: ChangeEvent) {
    if (!this.collections.has(event.collectionId) || !this.tabs.isLeader) return
    const position = await this.store.getMeta<FeedPosition>(cursorKey(event.collectionId)).catch(() => undefined)
    if (!position?.cursor) return this.loop.kick()
    if (event.seq <= position.last) return
    this.pullForEvents(event.collectionId)
  }

  /** One pull of the collection at a time; events arriving meanwhile ask for one more. */
  private pullForEvents(collectionId: string) {
    if (this.eventPulls.has(collectionId)) return void this.eventPulls.set(collectionId, 'again')
    this.eventPulls.set(collectionId, 'running')
    void (async () => {
      try {
        do {
          this.eventPulls.set(collectionId, 'running')
          if (this.closed || !this.tabs.isLeader || this.statusValue.get().fatal) return
          await this.withSession(() => pullCollection(this.ctx, collectionId, { pageSize: this.options.pageSize, create: false }))
        } while (this.eventPulls.get(collectionId) === 'again')
      } catch {
        // Offline, signed out, the collection gone…: the sync loop finds out, retries and reports.
        this.loop.kick()
      } finally {
        this.eventPulls.delete(collectionId)
      }
    })()
  }

  private handleCollectionEvent(type: 'lock' | 'member' | 'removed' | 'keys', payload: unknown) {
    this.reactToCollectionEvent(type, payload)
    // Told to the app once the client has acted on it (a lock ended, keys to fetch again).
    const collectionId = (payload as { collectionId?: unknown; id?: unknown } | null)?.collectionId ?? (type === 'removed' ? (payload as { id?: unknown } | null)?.id : undefined)
    if (typeof collectionId === 'string') {
      const event: CollectionEvent = { type, collectionId }
      this.collectionEvents.emit(event)
      this.tabs.post({ type: 'collectionEvent', event })
    }
  }

  private reactToCollectionEvent(type: 'lock' | 'member' | 'removed' | 'keys', payload: unknown) {
    if (type === 'lock') {
      const event = payload as { collectionId: string; type: string; lock: { token: number } }
      if (event.type !== 'acquired') this.locks.ended(event.collectionId, event.lock.token)
    } else if (type === 'member') {
      const event = payload as { collectionId?: unknown; type?: unknown; member?: { userId?: unknown } } | null
      const removed = event?.member?.userId
      if (event?.type === 'removed' && typeof event.collectionId === 'string' && typeof removed === 'string' && removed !== this.session.userId && !this.sharing.removedByThisClient(event.collectionId, removed)) {
        void this.rotateAfterRemoval(event.collectionId)
      }
      if (typeof event?.collectionId === 'string') {
        this.keysSharedAt.delete(event.collectionId)
        this.keyring.invalidate(event.collectionId)
      }
      this.loop.kick()
    } else if (type === 'removed' || type === 'keys') {
      // Membership, keys or the collection itself changed: the next cycle finds out what it means.
      const collectionId = (payload as { collectionId?: unknown } | null)?.collectionId
      if (typeof collectionId === 'string') {
        this.keysSharedAt.delete(collectionId)
        this.keyring.invalidate(collectionId)
      }
      this.loop.kick()
    }
  }

  private onLeader() {
    this.loop.resume()
    this.loop.kick(true)
  }

  private onFollower() {
    this.loop.stop()
    this.realtime?.stop()
    this.realtime = null
    this.subscribed.clear()
  }

  private onTabMessage(message: TabMessage) {
    if (message.type === 'kick') {
      if (this.tabs.isLeader) this.loop.kick()
    } else if (message.type === 'changed') {
      this.changedEvents.emit(message.collectionIds)
      this.refreshStatus()
    } else if (message.type === 'outcome') {
      this.settle(message.outcome, false)
    } else if (message.type === 'status' && !this.tabs.isLeader) {
      this.statusValue.set({ ...message.status })
      if (message.status.fatal) this.rejectSyncedWaiters(message.status.fatal)
    } else if (message.type === 'synced' && !this.tabs.isLeader) {
      void this.followerSynced()
    } else if (message.type === 'serverChanges' && !this.tabs.isLeader) {
      // The leader heard them itself; a tab that just took over must not hear the old leader's twice.
      for (const change of message.changes) this.serverChangeEvents.emit(change)
    } else if (message.type === 'collectionEvent' && !this.tabs.isLeader) {
      this.collectionEvents.emit(message.event)
    } else if (message.type === 'forgot') {
      this.forgottenHere.add(message.collectionId)
      this.openedHere.delete(message.collectionId)
      this.collections.delete(message.collectionId)
      if (this.subscribed.delete(message.collectionId)) this.realtime?.unsubscribe(message.collectionId).catch(() => undefined)
    } else if (message.type === 'hello' && this.tabs.isLeader) {
      this.tabs.post({ type: 'status', status: this.statusValue.get() })
    }
  }

  /**
   * The leader synced. Its count may predate a write this tab made just
   * before: resolve this tab's `whenSynced` only when the shared store has
   * nothing pending (otherwise the leader's next cycle says 'synced' again).
   */
  private async followerSynced() {
    // Only the waiters there before the count: one added meanwhile may follow a write the count missed.
    const waiters = [...this.syncedWaiters]
    if (waiters.length === 0) return
    const counts = await this.computeCounts().catch(() => null)
    if (!counts || counts.pending > 0 || this.tabs.isLeader) return
    this.syncedWaiters = this.syncedWaiters.filter((waiter) => !waiters.includes(waiter))
    for (const waiter of waiters) waiter.resolve()
  }

  private rejectSyncedWaiters(fatal: ClientError) {
    const waiters = this.syncedWaiters
    this.syncedWaiters = []
    for (const waiter of waiters) waiter.reject(new RoostError(fatal.code, fatal.name, fatal.message))
  }

  private settle(outcome: WriteOutcome, broadcast = true) {
    this.recentOutcomes.set(outcome.writeId, outcome)
    if (this.recentOutcomes.size > 10_000) this.recentOutcomes.delete(this.recentOutcomes.keys().next().value as string)
    for (const resolve of this.waiters.get(outcome.writeId) ?? []) resolve(outcome)
    this.waiters.delete(outcome.writeId)
    if (broadcast) this.tabs.post({ type: 'outcome', outcome })
  }

  private patchStatus(patch: Partial<SyncStatus>) {
    const next = { ...this.statusValue.get(), ...patch }
    this.statusValue.set(next)
    if (this.tabs?.isLeader) this.tabs.post({ type: 'status', status: next })
  }

  private async computeCounts() {
    const [outbox, pending, groups] = await Promise.all([this.store.listOutbox(), this.store.listPendingRecords(), this.store.listMeta<GroupMeta>(GROUP_PREFIX)])
    const conflicted = new Set(pending.filter((record) => record.conflict).map((record) => `${record.collectionId}\u0000${record.id}`))
    const parkedGroups = new Set(groups.filter(([, group]) => group.state === 'conflict').map(([, group]) => group.id))
    // Writes parked with a conflict (theirs or their group's) wait for the app, not for the sync loop.
    const waiting = outbox.filter(
      (entry) => entry.state === 'pending' && !conflicted.has(`${entry.collectionId}\u0000${entry.recordId}`) && !(entry.groupId && parkedGroups.has(entry.groupId))
    )
    return {
      pending: waiting.length,
      oldestPendingAt: waiting.reduce<string | null>((oldest, entry) => (oldest === null || entry.createdAt < oldest ? entry.createdAt : oldest), null),
      conflicts: conflicted.size,
      rejected: outbox.filter((entry) => entry.state === 'rejected').length
    }
  }

  /** Recounts pending writes and conflicts soon (coalesced: many changes, one count). */
  private refreshStatus() {
    if (this.statusTimer || this.closed) return
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null
      if (this.closed) return
      void this.computeCounts().then((counts) => this.patchStatus(counts), () => undefined)
    }, 10)
  }

  private async lockCollection(collectionId: string, options?: LockOptions) {
    checkLockOptions(options ?? {})
    await this.ready
    await this.session.ensure()
    return this.withSession(() => this.locks.acquire(collectionId, options))
  }

  /** Waits until no write carrying this lock token is pending (or the time is up). */
  private async flushWrites(collectionId: string, token: number, until: number) {
    while (Date.now() < until && !this.closed) {
      const waiting = (await this.store.listOutbox()).some((entry) => entry.collectionId === collectionId && entry.lockToken === token && entry.state === 'pending')
      if (!waiting) return
      this.wakeSync()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/**
 * An app's listener, called from inside a sync step (a pull, a socket
 * event): what it throws must not stop that step, so it is reported on its
 * own, as an uncaught error of the app's.
 */
function isolated<T>(listener: (value: T) => void): (value: T) => void {
  if (typeof listener !== 'function') throw new ClientInputError('The listener must be a function')
  return (value) => {
    try {
      listener(value)
    } catch (error) {
      const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
      if (typeof report === 'function') report(error)
      else
        setTimeout(() => {
          throw error
        }, 0)
    }
  }
}

function checkPolicy(policy: ConflictPolicy): ConflictPolicy {
  if (typeof policy === 'function' || policy === 'manual' || policy === 'server-wins' || policy === 'client-wins') return policy
  throw new ClientInputError(`"conflictPolicy" must be 'manual', 'server-wins', 'client-wins' or a merge function, not ${JSON.stringify(policy)}`)
}

/** Creates a client and starts syncing. */
export const createRoost = (options: RoostOptions): Roost => {
  if (options?.conflictPolicy !== undefined) checkPolicy(options.conflictPolicy)
  return new Roost(options)
}
