/**
 * The page side of the client's browser tests: the whole client
 * (createRoost with the IndexedDB store) in Chromium, driven from Node
 * through the functions put on `window` (see callPage). One client per page.
 * Names avoid window's own (open, close, status).
 */
import { createRoost, type RecordView, type Roost, type SyncStatus } from '../../../src/client/index.js'
import { indexedDbStore } from '../../../src/client/stores/indexeddb.js'
import type { CollectionEvent, Json, ServerChange } from '../../../src/client/types.js'
import type { PageQuery } from '../../../src/client/collection.js'

let roost: Roost | undefined
/** What each watched collection's listener saw last. */
const watched = new Map<string, Array<{ id: string; data: unknown; pending: boolean }>>()

const client = (): Roost => {
  if (!roost) throw new Error('open() first')
  return roost
}

const plain = (records: RecordView[]) => records.map((record) => ({ id: record.id, data: record.data, pending: record.pending }))

/** What onServerChange and onCollectionEvent heard in this tab, once listenEvents() started them. */
const heardChanges: ServerChange[] = []
const heardEvents: CollectionEvent[] = []

const lifecycle: string[] = []
for (const type of ['freeze', 'resume', 'pagehide', 'pageshow', 'visibilitychange']) {
  ;(type === 'freeze' || type === 'resume' || type === 'visibilitychange' ? document : window).addEventListener(type, () => lifecycle.push(type))
}

const api = {
  /** Opens the client on the IndexedDB store `storeName` and watches `collectionIds` (end-to-end encrypted ones with `encrypted`). */
  openClient(options: { url: string; email: string; password: string; storeName: string; collectionIds: string[]; encrypted?: boolean }) {
    roost = createRoost({
      url: options.url,
      auth: { email: options.email, password: options.password },
      store: indexedDbStore(options.storeName),
      retry: { baseMs: 50, maxMs: 500 },
      pollIntervalMs: 60_000
    })
    for (const collectionId of options.collectionIds) {
      client()
        .collection(collectionId, { encrypted: options.encrypted === true })
        .watch((records) => watched.set(collectionId, plain(records)))
    }
  },
  /** Opens one more collection and watches it. */
  watchCollection(collectionId: string, encrypted = false) {
    client()
      .collection(collectionId, { encrypted })
      .watch((records) => watched.set(collectionId, plain(records)))
  },
  async put(collectionId: string, id: string, data: Json): Promise<string> {
    return (await client().collection(collectionId).put(id, data)).writeId
  },
  async patch(collectionId: string, id: string, fields: Record<string, Json>): Promise<string> {
    return (await client().collection(collectionId).patch(id, fields)).writeId
  },
  async list(collectionId: string) {
    return plain(await client().collection(collectionId).list())
  },
  /** What `watch` last handed the app (undefined before its first call). */
  watched(collectionId: string) {
    return watched.get(collectionId) ?? null
  },
  async whenSynced() {
    await client().whenSynced()
  },
  async awaitWrite(writeId: string) {
    return client().awaitWrite(writeId)
  },
  syncStatus(): SyncStatus {
    return client().status.get()
  },
  isLeader(): boolean {
    return client().isLeader
  },
  /** The outbox as stored (shared by every tab on the store). */
  async outbox() {
    return (await client().store.listOutbox()).map((entry) => ({ id: entry.id, recordId: entry.recordId, state: entry.state }))
  },
  /** This origin's Web Locks: who holds and who waits (by lock name). */
  async webLocks() {
    const state = await navigator.locks.query()
    return { held: (state.held ?? []).map((lock) => lock.name), pending: (state.pending ?? []).map((lock) => lock.name) }
  },
  /** Lifecycle events this document saw, in order. */
  lifecycle() {
    return lifecycle
  },
  /** Makes the account's keys on this device (first device): the recovery phrase. */
  async createAccount(): Promise<string> {
    return (await client().account.create()).recoveryPhrase
 },
  async accountStatus(): Promise<'ready' | 'missing'> {
    return client().account.status()
 },
  /** The recovery phrase of the keys this device holds (after a reload: the ones kept in IndexedDB). */
  async recoveryPhrase(): Promise<string> {
    return client().account.recoveryPhrase()
 },
  async recoveryQrSvg(): Promise<string> {
    return client().account.recoveryQrSvg()
 },
  /** Whether `svg` is an SVG document Chromium draws: its root element, and the size of the image it makes (0 if it failed to load). */
  async renderSvg(svg: string): Promise<{ root: string; parseError: boolean; width: number; height: number }> {
    const parsed = new DOMParser().parseFromString(svg, 'image/svg+xml')
    const image = new Image()
    const loaded = new Promise<boolean>((resolve) => {
      image.onload = () => resolve(true)
      image.onerror = () => resolve(false)
    })
    image.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }))
    const ok = await loaded
    URL.revokeObjectURL(image.src)
    return { root: parsed.documentElement.localName, parseError: parsed.getElementsByTagName('parsererror').length > 0, width: ok ? image.naturalWidth : 0, height: ok ? image.naturalHeight : 0 }
  },
  /** Records of encrypted collections that failed to decrypt. */
  async tamperedRecords() {
    return client().tamperedRecords()
 },
  /** Starts recording what roost.onServerChange and roost.onCollectionEvent hear in this tab. */
  listenEvents() {
    client().onServerChange((change) => heardChanges.push(change))
    client().onCollectionEvent((event) => heardEvents.push(event))
  },
  heard() {
    return { changes: heardChanges, events: heardEvents }
  },
  /** collection.page (which opens the collection, as roost.collection does). */
  async page(collectionId: string, options: PageQuery) {
    const page = await client().collection(collectionId).page(options)
    return { ...page, records: page.records.map((record) => ({ id: record.id, data: record.data, deleted: record.deleted, size: record.size })) }
  },
  async forget(collectionId: string, discard: boolean) {
    await client().forget(collectionId, { discard })
  },
  /** The ids of the store's records of a collection, read from the store itself (not opening the collection). */
  async storedIds(collectionId: string) {
    return (await client().store.listRecords(collectionId)).map((record) => record.id)
  },
  async closeClient() {
    await roost?.close()
    roost = undefined
  }
}

Object.assign(window, api)
