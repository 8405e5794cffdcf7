/**
 * The page side of indexeddb.browser.test.ts: bundled with the store and the
 * store checks, it puts the functions the test calls (through callPage) on
 * `window`. Everything here runs in Chromium.
 */
import { deleteDB } from 'idb'
import { IndexedDbStore } from '../../../src/client/stores/indexeddb.js'
import type { ClientStore, PageOptions, StoreChange } from '../../../src/client/stores/types.js'
import type { LocalRecord } from '../../../src/client/types.js'
import { storeChecks } from './store-checks.js'

/** One store object per database name in this page (tabs have their own). */
const stores = new Map<string, ClientStore>()
const storeFor = (db: string): ClientStore => {
  let store = stores.get(db)
  if (!store) stores.set(db, (store = new IndexedDbStore(db)))
  return store
}

const failure = (error: unknown) => ({ ok: false as const, name: (error as Error).name, message: (error as Error).message })

/** The lock holder's release, set while holdLock holds the lock. */
let release: (() => void) | undefined
let held: Promise<unknown> | undefined

/** Appends to the `log` meta entry; only meaningful inside runExclusive (it is a read-modify-write). */
async function appendLog(store: ClientStore, line: string): Promise<void> {
  const log = (await store.getMeta<string[]>('log')) ?? []
  await store.write([{ type: 'putMeta', key: 'log', value: [...log, line] }])
}

/** A string of `size` characters that does not compress (Chromium may compress IndexedDB values). */
function incompressible(size: number): string {
  const bytes = new Uint8Array(Math.ceil((size * 3) / 4))
  for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
  let text = ''
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192))
  return btoa(text).slice(0, size)
}

const api = {
  /** Runs the store check `name` on the (fresh) database `db`, then deletes the database. Rejects with the check's failure. */
  async runCheck(name: string, db: string) {
    const check = storeChecks.find((candidate) => candidate.name === name)
    if (!check) throw new Error(`No store check named ${JSON.stringify(name)}`)
    try {
      await check.run(async () => new IndexedDbStore(db))
    } finally {
      // The check closed its stores; a store left open would close itself on this versionchange.
      await deleteDB(db)
    }
  },
  async write(db: string, changes: StoreChange[]) {
    await storeFor(db).write(changes)
  },
  async tryWrite(db: string, changes: StoreChange[]) {
    try {
      await storeFor(db).write(changes)
      return { ok: true as const }
    } catch (error) {
      return failure(error)
    }
  },
  /** A write whose last change carries `size` characters of incompressible text in a meta value. */
  async tryBigWrite(db: string, changes: StoreChange[], key: string, size: number) {
    try {
      await storeFor(db).write([...changes, { type: 'putMeta', key, value: incompressible(size) }])
      return { ok: true as const }
    } catch (error) {
      return failure(error)
    }
  },
  async dump(db: string, collectionIds: string[]) {
    const store = storeFor(db)
    const records: Record<string, unknown> = {}
    for (const collectionId of collectionIds) records[collectionId] = await store.listRecords(collectionId)
    return { records, pending: await store.listPendingRecords(), outbox: await store.listOutbox(), meta: await store.listMeta('') }
  },
  async getMeta(db: string, key: string) {
    return storeFor(db).getMeta(key)
  },
  /** Takes the store's lock, logs `<who>:start`, and keeps the lock until releaseLock(); resolves once it holds it. */
  async holdLock(db: string, who: string) {
    const store = storeFor(db)
    await new Promise<void>((acquired) => {
      held = store.runExclusive(async () => {
        await appendLog(store, `${who}:start`)
        acquired()
        await new Promise<void>((resolve) => (release = resolve))
        await appendLog(store, `${who}:end`)
      })
    })
  },
  async releaseLock() {
    if (!release) throw new Error('releaseLock: no lock held in this page')
    release()
    await held
    release = undefined
  },
  /** runExclusive(append `who`): started by the test without waiting for it. */
  async lockedAppend(db: string, who: string) {
    const store = storeFor(db)
    await store.runExclusive(() => appendLog(store, who))
  },
  /** How many Web Lock requests of this origin wait for the store's lock. */
  async waitingForLock(db: string) {
    const { pending = [] } = await navigator.locks.query()
    return pending.filter((request) => request.name === `roost-store:${db}`).length
  },
  /** Opens the database at `version` with a store object of its own (as a newer version of the app would) and reads from it. */
  async openAtVersion(db: string, version: number) {
    const store = new IndexedDbStore(db, { version })
    try {
      await store.getMeta('x')
      return { ok: true as const }
    } catch (error) {
      return failure(error)
    } finally {
      await store.close()
    }
  },
  async tryGetMeta(db: string, key: string) {
    try {
      return { ok: true as const, value: await storeFor(db).getMeta(key) }
    } catch (error) {
      return failure(error)
    }
  },
  /**
   * A blocked open: a plain connection that ignores versionchange holds
   * version 1; a store asking for version 2 must reject, not wait. Then the
   * old connection goes and the store opens.
   */
  async blockedOpen(db: string) {
    const old = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(db, 1)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    const store = new IndexedDbStore(db, { version: 2 })
    let blocked: ReturnType<typeof failure> | { ok: true }
    try {
      await store.getMeta('x')
      blocked = { ok: true }
    } catch (error) {
      blocked = failure(error)
    }
    old.close()
    let after: ReturnType<typeof failure> | { ok: true }
    try {
      await store.write([{ type: 'putMeta', key: 'x', value: 1 }])
      after = (await store.getMeta('x')) === 1 ? { ok: true } : failure(new Error('value not read back'))
    } catch (error) {
      after = failure(error)
    }
    await store.close()
    return { blocked, after }
  },
  /**
   * A database in the version 1 layout, made with plain IndexedDB as the
   * client of that version did (no `live` index, rows without the flag),
   * holding `records`; then opened by the current store, which upgrades it.
   * Returns what the upgraded store reads, and the database's version and
   * indexes afterwards.
   */
  async upgradeFromV1(db: string, records: LocalRecord[], pageOptions: PageOptions[]) {
    const old = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(db, 1)
      request.onupgradeneeded = () => {
        const created = request.result
        created.createObjectStore('records', { keyPath: ['record.collectionId', 'record.id'] }).createIndex('pending', 'pending')
        created.createObjectStore('outbox', { keyPath: 'id' }).createIndex('order', 'order')
        created.createObjectStore('meta')
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    await new Promise<void>((resolve, reject) => {
      const tx = old.transaction(['records', 'meta'], 'readwrite')
      for (const record of records) tx.objectStore('records').put(record.version > record.syncedVersion ? { record, pending: 1 } : { record })
      tx.objectStore('meta').put({ cursor: 'c1', last: 7 }, 'cursor:notes')
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    old.close()
    const store = new IndexedDbStore(db)
    try {
      const pages = []
      for (const options of pageOptions) pages.push(await store.pageRecords('notes', options))
      const listed = await store.listRecords('notes')
      const pending = await store.listPendingRecords()
      const cursor = await store.getMeta('cursor:notes')
      // A write after the upgrade keeps the index right: the first live record becomes a tombstone.
      const first = listed.find((record) => !record.deleted)!
      await store.write([{ type: 'putRecord', record: { ...first, deleted: true, data: null } }])
      const afterWrite = await store.pageRecords('notes', { offset: 0, limit: 1000 })
      await store.close()
      const reopened = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(db)
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
      const version = reopened.version
      const indexes = Array.from(reopened.transaction('records').objectStore('records').indexNames)
      reopened.close()
      return { pages, listed, pending, cursor, afterWrite, version, indexes }
    } finally {
      await store.close()
      await deleteDB(db)
    }
  },
  /**
   * `count` records (every 7th a tombstone) in one write, then pages near the
   * end and by prefix: the cursor `advance`s over thousands of rows.
   */
  async bigCollection(db: string, count: number) {
    const store = new IndexedDbStore(db)
    try {
      const records: LocalRecord[] = Array.from({ length: count }, (_, index) => ({
        collectionId: 'big', id: `r${String(index).padStart(6, '0')}`, data: index % 7 === 0 ? null : { index }, deleted: index % 7 === 0, version: 1, syncedVersion: 1, base: null
      }))
      await store.write(records.map((record) => ({ type: 'putRecord', record })))
      const ids = async (options: PageOptions) => {
        const page = await store.pageRecords('big', options)
        return { ids: page.records.map((record) => record.id), matching: page.matching, total: page.total }
      }
      return {
        // Tombstones are indexes 0, 7, 14, …: ceil(count / 7) of them.
        end: await ids({ offset: count - Math.ceil(count / 7) - 3, limit: 10 }),
        all: await ids({ offset: count - 2, limit: 10, includeDeleted: true }),
        prefix: await ids({ offset: 50, limit: 3, idPrefix: 'r009' })
      }
    } finally {
      await store.close()
      await deleteDB(db)
    }
  },
  async closeAll() {
    await Promise.all([...stores.values()].map((store) => store.close()))
    stores.clear()
  },
  async deleteDatabase(db: string) {
    await stores.get(db)?.close()
    stores.delete(db)
    await deleteDB(db)
  }
}

export type PageApi = typeof api
Object.assign(window, api)
