import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import { Mutex } from '../mutex.js'
import type { LocalRecord, OutboxEntry } from '../types.js'
import { checkPageOptions, prefixEnd, type PageOptions, type RecordPage } from './paging.js'
import { assertStorable } from './storable.js'
import type { ClientStore, StoreChange } from './types.js'

/** Bump with a new step in `upgrade` when the layout changes. */
export const SCHEMA_VERSION = 2

interface RoostSchema extends DBSchema {
  /**
   * Keyed by [collectionId, id] (read from the record itself). `pending` is set
   * only while version > syncedVersion, so the sparse `pending` index holds
   * exactly the pending records and `listPendingRecords` never scans the replica.
   * Likewise `live` is set only on records that are not deleted, so the `live`
   * index ([collectionId, id, 1]) holds exactly the live records, in id order,
   * for `pageRecords` to count and skip (version 2).
   */
  records: { key: [string, string]; value: RecordRow; indexes: { pending: number; live: [string, string, number] } }
  outbox: { key: string; value: OutboxEntry; indexes: { order: number } }
  /** Out-of-line keys: the value is stored as given. */
  meta: { key: string; value: unknown }
}

interface RecordRow {
  record: LocalRecord
  pending?: 1
  live?: 1
}

/** The row a record is stored as, with its index flags. */
function rowOf(record: LocalRecord): RecordRow {
  const row: RecordRow = { record }
  if (record.version > record.syncedVersion) row.pending = 1
  if (!record.deleted) row.live = 1
  return row
}

const LIVE_KEY_PATH = ['record.collectionId', 'record.id', 'live']

type StoreName = 'records' | 'outbox' | 'meta'
type Database = IDBPDatabase<RoostSchema>

const storeOf: Record<StoreChange['type'], StoreName> = {
  putRecord: 'records',
  deleteRecord: 'records',
  clearRecords: 'records',
  putOutbox: 'outbox',
  deleteOutbox: 'outbox',
  putMeta: 'meta',
  deleteMeta: 'meta'
}

/**
 * Every key [collectionId, <any string>]: arrays sort after strings in
 * IndexedDB, so [collectionId, []] is above every string id (an upper bound
 * of '\uffff' would miss ids that start with it).
 */
const collectionRange = (collectionId: string) => IDBKeyRange.bound([collectionId], [collectionId, []])

/** Process-local queues for runExclusive where Web Locks are missing, one per database name (shared by every store object on it). */
const localLocks = new Map<string, Mutex>()

let persistAsked = false

/** Asks once per page that the browser keep our data under storage pressure (Safari drops IndexedDB after 7 days without a visit otherwise). Best effort. */
function askPersistence(): void {
  if (persistAsked) return
  persistAsked = true
  try {
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
    if (storage?.persist) storage.persist().catch(() => undefined)
  } catch {
    // Not offered here (old browser, some privacy modes): the store works without it.
  }
}

function storeError(storeName: string, what: string, error: unknown): Error {
  const cause = error instanceof Error || error instanceof DOMException ? error : undefined
  const name = cause?.name ?? 'Error'
  const wrapped = new Error(`IndexedDB store "${storeName}": ${what} failed: ${name}${cause ? `: ${cause.message}` : ''}`, { cause: error })
  // Keep the DOMException's name (QuotaExceededError, AbortError, ...) so callers can tell them apart.
  wrapped.name = name
  return wrapped
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${value === null ? 'null' : typeof value}`)
  return value
}

export interface IndexedDbStoreOptions {
  /** The schema version to open with; only tests of upgrades and blocked opens change it. */
  version?: number
}

/**
 * The browser store: one IndexedDB database per client (`name`), object
 * stores `records`, `outbox` and `meta`. Every `write` is one readwrite
 * transaction; `runExclusive` is a Web Lock named after the database, so tabs
 * of one origin take turns.
 */
export class IndexedDbStore implements ClientStore {
  readonly name: string
  private readonly version: number
  private opening: Promise<Database> | undefined
  private closedReason: string | undefined

  constructor(name: string, options: IndexedDbStoreOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError('indexedDbStore: name must be a non-empty string')
    if (typeof indexedDB === 'undefined') {
      throw new Error('indexedDbStore: IndexedDB is not available here (Node has none): use memoryStore or roost/client/sqlite')
    }
    this.name = name
    this.version = options.version ?? SCHEMA_VERSION
  }

  private db(): Promise<Database> {
    if (this.closedReason !== undefined) return Promise.reject(new Error(`IndexedDB store "${this.name}" is closed: ${this.closedReason}`))
    if (!this.opening) {
      askPersistence()
      this.opening = this.open()
      // A failed open (blocked, refused) is tried again by the next call.
      this.opening.catch(() => {
        this.opening = undefined
      })
    }
    return this.opening
  }

  private open(): Promise<Database> {
    return new Promise<Database>((resolve, reject) => {
      let settled = false
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        reject(error)
      }
      openDB<RoostSchema>(this.name, this.version, {
        upgrade(db, _oldVersion, _newVersion, transaction) {
          // Create what is missing rather than stepping on oldVersion: a database made by something else at a lower version still gets our stores.
          if (!db.objectStoreNames.contains('records')) {
            const records = db.createObjectStore('records', { keyPath: ['record.collectionId', 'record.id'] })
            records.createIndex('pending', 'pending')
            records.createIndex('live', LIVE_KEY_PATH)
          } else if (!transaction.objectStore('records').indexNames.contains('live')) {
            // Version 1 → 2: the `live` index, and its flag on every live record already stored. One pass
            // inside the upgrade transaction: if it fails, the upgrade is rolled back and the open fails.
            const records = transaction.objectStore('records')
            records.createIndex('live', LIVE_KEY_PATH)
            void (async () => {
              let cursor = await records.openCursor()
              while (cursor) {
                if (!cursor.value.record.deleted && cursor.value.live !== 1) await cursor.update({ ...cursor.value, live: 1 })
                cursor = await cursor.continue()
              }
            })().catch(() => {
              try {
                transaction.abort()
              } catch {
                // Already aborting: the open fails with its error.
              }
            })
          }
          if (!db.objectStoreNames.contains('outbox')) {
            db.createObjectStore('outbox', { keyPath: 'id' }).createIndex('order', 'order')
          }
          if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta')
        },
        blocked: (current) => {
          // Another connection (an old tab that does not close on versionchange) holds version `current`; waiting could last forever.
          fail(new Error(
            `IndexedDB store "${this.name}": opening version ${this.version} is blocked by another open connection at version ${current} ` +
              '(another tab of this app with an older version?): close or reload the other tabs'
          ))
        },
        blocking: (_current, _next, event) => {
          // Another tab wants to upgrade or delete the database: let it (closing at once, so it is not blocked), and refuse further use here.
          this.closedReason = 'another tab upgraded or deleted the database; reload this page'
          ;(event.target as IDBDatabase).close()
        },
        terminated: () => {
          this.closedReason = 'the browser closed the database (storage cleared or the disk failed)'
        }
      }).then(
        (db) => {
          if (settled) {
            // The open went through after we gave up on it: do not keep a connection nobody uses.
            db.close()
            return
          }
          const missing = (['records', 'outbox', 'meta'] as const).filter((store) => !db.objectStoreNames.contains(store))
          if (missing.length > 0) {
            db.close()
            fail(new Error(`IndexedDB store "${this.name}": database version ${db.version} lacks the object stores ${missing.join(', ')}: not a Roost store`))
            return
          }
          settled = true
          resolve(db)
        },
        (error: unknown) => fail(storeError(this.name, 'open', error))
      )
    })
  }

  /** Runs `fn` on the open database; IndexedDB's own errors come out named after the store and the operation. */
  private async use<T>(what: string, fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await this.db()
    try {
      return await fn(db)
    } catch (error) {
      // A connection closed under us (versionchange, the browser) says why, not just "InvalidStateError".
      if (this.closedReason !== undefined) throw new Error(`IndexedDB store "${this.name}" is closed: ${this.closedReason}`, { cause: error })
      throw storeError(this.name, what, error)
    }
  }

  async getRecord(collectionId: string, id: string): Promise<LocalRecord | undefined> {
    checkString(collectionId, 'getRecord: collectionId')
    checkString(id, 'getRecord: id')
    return this.use('getRecord', async (db) => (await db.get('records', [collectionId, id]))?.record)
  }

  async getRecords(collectionId: string, ids: string[]): Promise<Array<LocalRecord | undefined>> {
    checkString(collectionId, 'getRecords: collectionId')
    for (const id of ids) checkString(id, 'getRecords: id')
    // One transaction for the lot: a pulled page of 1000 records is one read, not 1000.
    return this.use('getRecords', async (db) => {
      const tx = db.transaction('records', 'readonly')
      const rows = await Promise.all(ids.map((id) => tx.store.get([collectionId, id])))
      await tx.done
      return rows.map((row) => row?.record)
    })
  }

  async listRecords(collectionId: string): Promise<LocalRecord[]> {
    checkString(collectionId, 'listRecords: collectionId')
    // Keys [collectionId, id] sort by id within the collection: id order comes from the key range itself.
    return this.use('listRecords', async (db) => (await db.getAll('records', collectionRange(collectionId))).map((row) => row.record))
  }

  /**
   * One readonly transaction: counts from the key range (the object store for
   * every record, the `live` index for live ones), then a cursor that
   * `advance`s past `offset` and reads `limit` rows. Only those rows are read.
   */
  async pageRecords(collectionId: string, options: PageOptions): Promise<RecordPage> {
    checkString(collectionId, 'pageRecords: collectionId')
    const { offset, limit, idPrefix, includeDeleted } = checkPageOptions(options)
    return this.use('pageRecords', async (db) => {
      const tx = db.transaction('records', 'readonly')
      const source = includeDeleted ? tx.store : tx.store.index('live')
      // Store keys are [collectionId, id], index keys [collectionId, id, 1]: the same bounds work for both,
      // since a key sorts after its own prefix and arrays sort after strings.
      const all = collectionRange(collectionId)
      const end = prefixEnd(idPrefix)
      const matchingRange = idPrefix === '' ? all : IDBKeyRange.bound([collectionId, idPrefix], end === null ? [collectionId, []] : [collectionId, end], false, true)
      const [total, matching] = await Promise.all([source.count(all), idPrefix === '' ? null : source.count(matchingRange)])
      const records: LocalRecord[] = []
      if (limit > 0) {
        let cursor = await source.openCursor(matchingRange)
        if (cursor && offset > 0) cursor = await cursor.advance(offset)
        while (cursor && records.length < limit) {
          records.push(cursor.value.record)
          if (records.length < limit) cursor = await cursor.continue()
        }
      }
      await tx.done
      return { records, matching: matching ?? total, total }
    })
  }

  async listPendingRecords(): Promise<LocalRecord[]> {
    return this.use('listPendingRecords', async (db) => (await db.getAllFromIndex('records', 'pending')).map((row) => row.record))
  }

  async listOutbox(): Promise<OutboxEntry[]> {
    return this.use('listOutbox', (db) => db.getAllFromIndex('outbox', 'order'))
  }

  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    checkString(key, 'getMeta: key')
    return this.use('getMeta', async (db) => (await db.get('meta', key)) as T | undefined)
  }

  async listMeta<T = unknown>(prefix: string): Promise<Array<[string, T]>> {
    checkString(prefix, 'listMeta: prefix')
    return this.use('listMeta', async (db) => {
      const entries: Array<[string, T]> = []
      // Walk up from the prefix until the keys stop starting with it (keys are in code-unit order, like JS string comparison).
      let cursor = await db.transaction('meta').store.openCursor(IDBKeyRange.lowerBound(prefix))
      while (cursor && cursor.key.startsWith(prefix)) {
        entries.push([cursor.key, cursor.value as T])
        cursor = await cursor.continue()
      }
      return entries
    })
  }

  async write(changes: StoreChange[]): Promise<void> {
    // The checks every store makes (strict JSON, well-formed keys, finite counters): a bad change fails the whole write with a TypeError.
    assertStorable(changes)
    // Clone everything before the transaction, synchronously: what the caller changes afterwards does not matter, and nothing can fail half-way for a value.
    let copied: StoreChange[]
    try {
      copied = structuredClone(changes)
    } catch (error) {
      throw storeError(this.name, 'write (a value cannot be stored)', error)
    }
    if (copied.length === 0) return
    await this.use('write', (db) => this.transact(db, copied))
  }

  /** One readwrite transaction for all the changes; resolves on complete, rejects (rolled back) on abort. */
  private async transact(db: Database, changes: StoreChange[]): Promise<void> {
    const stores = [...new Set(changes.map((change) => storeOf[change.type]))]
    // Strict durability: a local write is acknowledged to the app only once it is on disk (it may be the only copy).
    const tx = db.transaction(stores, 'readwrite', { durability: 'strict' })
    const done = tx.done
    try {
      // Every request is issued synchronously, in order; IndexedDB runs them in that order inside the one transaction.
      for (const change of changes) {
        let request: Promise<unknown>
        switch (change.type) {
          case 'putRecord':
            request = tx.objectStore('records').put(rowOf(change.record))
            break
          case 'deleteRecord':
            request = tx.objectStore('records').delete([change.collectionId, change.id])
            break
          case 'clearRecords':
            request = tx.objectStore('records').delete(collectionRange(change.collectionId))
            break
          case 'putOutbox':
            request = tx.objectStore('outbox').put(change.entry)
            break
          case 'deleteOutbox':
            request = tx.objectStore('outbox').delete(change.id)
            break
          case 'putMeta':
            request = tx.objectStore('meta').put(change.value, change.key)
            break
          case 'deleteMeta':
            request = tx.objectStore('meta').delete(change.key)
            break
        }
        // A failed request aborts the transaction (its error event is not cancelled); the failure is reported once, through `done`.
        request.catch(() => undefined)
      }
    } catch (error) {
      // A request that throws at once (DataError, DataCloneError) would otherwise leave the earlier requests to commit.
      try {
        tx.abort()
      } catch {
        // Already finished or aborting.
      }
      await done.catch(() => undefined)
      throw error
    }
    // Rejects with QuotaExceededError, AbortError, an I/O error...: the transaction was rolled back as a whole.
    await done
  }

  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (typeof navigator !== 'undefined' && navigator.locks) {
      // The lock is held until fn's promise settles; request resolves with its value (the DOM typing leaves the promise unwrapped).
      return navigator.locks.request(`roost-store:${this.name}`, () => fn()) as unknown as Promise<T>
    }
    let mutex = localLocks.get(this.name)
    if (!mutex) localLocks.set(this.name, (mutex = new Mutex()))
    return mutex.run(fn)
  }

  async close(): Promise<void> {
    if (this.closedReason === undefined) this.closedReason = 'close() was called'
    const opening = this.opening
    this.opening = undefined
    if (opening) {
      // IndexedDB finishes the running transactions before the connection really closes.
      const db = await opening.catch(() => undefined)
      db?.close()
    }
  }
}

/** A store in the IndexedDB database `name` of this origin (created on first use). */
export const indexedDbStore = (name: string): ClientStore => new IndexedDbStore(name)
