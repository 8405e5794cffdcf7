import { Mutex } from '../mutex.js'
import type { LocalRecord, OutboxEntry } from '../types.js'
import { checkPageOptions, pageOf, type PageOptions } from './paging.js'
import { assertStorable } from './storable.js'
import type { ClientStore, StoreChange } from './types.js'

const recordKey = (collectionId: string, id: string) => `${collectionId}\u0000${id}`
const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value))

/**
 * A store that lives as long as the object: for tests, for apps that do not
 * need to survive a restart, and as the reference the other stores are
 * checked against. Two clients given the same object share it, as two clients
 * on one IndexedDB database or SQLite file do.
 */
export class MemoryStore implements ClientStore {
  readonly name: string
  private records = new Map<string, LocalRecord>()
  private outbox = new Map<string, OutboxEntry>()
  private meta = new Map<string, unknown>()
  private readonly mutex = new Mutex()

  constructor(name = 'memory') {
    this.name = name
  }

  async getRecord(collectionId: string, id: string) {
    return copy(this.records.get(recordKey(collectionId, id)))
  }

  async getRecords(collectionId: string, ids: string[]) {
    return ids.map((id) => copy(this.records.get(recordKey(collectionId, id))))
  }

  async listRecords(collectionId: string) {
    return [...this.records.values()]
      .filter((record) => record.collectionId === collectionId)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(copy)
  }

  async pageRecords(collectionId: string, options: PageOptions) {
    const checked = checkPageOptions(options)
    const sorted = [...this.records.values()].filter((record) => record.collectionId === collectionId).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    // Only the page is copied out.
    const page = pageOf(sorted, checked)
    return { ...page, records: page.records.map(copy) }
  }

  async listPendingRecords() {
    return [...this.records.values()].filter((record) => record.version > record.syncedVersion).map(copy)
  }

  async listOutbox() {
    return [...this.outbox.values()].sort((a, b) => a.order - b.order).map(copy)
  }

  async getMeta<T>(key: string) {
    return copy(this.meta.get(key)) as T | undefined
  }

  async listMeta<T>(prefix: string) {
    return [...this.meta.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => [key, copy(value) as T] as [string, T])
  }

  async write(changes: StoreChange[]) {
    // Check and copy everything first: a value that is not JSON (a BigInt,
    // which structured clone would take) or cannot be cloned fails the whole
    // write before anything changed.
    assertStorable(changes)
    const copied = changes.map(copy)
    for (const change of copied) {
      switch (change.type) {
        case 'putRecord':
          this.records.set(recordKey(change.record.collectionId, change.record.id), change.record)
          break
        case 'deleteRecord':
          this.records.delete(recordKey(change.collectionId, change.id))
          break
        case 'clearRecords':
          for (const [key, record] of this.records) if (record.collectionId === change.collectionId) this.records.delete(key)
          break
        case 'putOutbox':
          this.outbox.set(change.entry.id, change.entry)
          break
        case 'deleteOutbox':
          this.outbox.delete(change.id)
          break
        case 'putMeta':
          this.meta.set(change.key, change.value)
          break
        case 'deleteMeta':
          this.meta.delete(change.key)
          break
      }
    }
  }

  runExclusive<T>(fn: () => Promise<T>) {
    return this.mutex.run(fn)
  }

  async close() {}
}

export const memoryStore = (name?: string): ClientStore => new MemoryStore(name)
