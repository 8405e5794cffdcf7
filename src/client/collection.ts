import type { Json, LocalRecord, ServerRecord } from './types.js'
import type { Resolution, WriteReceipt } from './engine/local-writes.js'
import type { LockHandle, LockOptions } from './engine/locks.js'

/** A record as the app sees it. */
export interface RecordView<T = Json> {
  id: string
  data: T
  deleted: boolean
  /** The server's version this local state is based on (null: not on the server yet). */
  serverVersion: number | null
  /** Local changes not yet applied on the server. */
  pending: boolean
  /** A conflict waiting for `resolve`: the server's record that our write lost against. */
  conflict: ServerRecord | null
  updatedAt: string | null
  updatedBy: string | null
  /** Bytes of `data` as JSON text in UTF-8 (0 for a tombstone): what the record weighs, for tables. */
  size: number
}

export const viewOf = <T = Json>(record: LocalRecord): RecordView<T> => ({
  id: record.id,
  data: record.data as T,
  deleted: record.deleted,
  serverVersion: record.base?.version ?? null,
  pending: record.version > record.syncedVersion && !record.conflict,
  conflict: record.conflict ? record.conflict.server : null,
  updatedAt: record.base?.updatedAt ?? null,
  updatedBy: record.base?.updatedBy ?? null,
  size: record.deleted ? 0 : utf8Length(JSON.stringify(record.data) ?? 'null')
})

/** UTF-8 length of a string without encoding it (a lone surrogate counts 3, as the U+FFFD an encoder writes). */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && at + 1 < text.length && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      at++
    } else bytes += 3
  }
  return bytes
}

/** What `collection.page()` reads: see `Collection.page`. */
export interface PageQuery {
  /** Records to skip, of those that match (0 and up). */
  offset: number
  /** Records to return at most (0–1000; 0 returns only the counts). */
  limit: number
  /** Only records whose id starts with this. */
  idPrefix?: string
  /** Tombstones too (default false). */
  includeDeleted?: boolean
}

export interface RecordsPage<T = Json> {
  /** The window, ordered by id. */
  records: RecordView<T>[]
  /** How many records match the filter. */
  matching: number
  /** How many records the collection has locally (live, plus tombstones with `includeDeleted`). */
  total: number
}

/** One synced collection: local-first reads and writes. */
export interface Collection<T = Json> {
  readonly id: string
  /** The local record (tombstones included: check `deleted`). */
  get(id: string): Promise<RecordView<T> | undefined>
  /** Every live local record, ordered by id. */
  list(): Promise<RecordView<T>[]>
  /**
   * A window of the local records, ordered by id, with counts: for a table
   * of thousands of records without holding them all (the store reads only
   * the window). Bad options are a ClientInputError.
   */
  page(options: PageQuery): Promise<RecordsPage<T>>
  /** Calls `listener` with `list()` now and after every change, local or synced. Returns a function that stops it. */
  watch(listener: (records: RecordView<T>[]) => void): () => void
  /** Creates or replaces the record's data, locally at once; the sync loop pushes it. */
  put(id: string, data: T): Promise<WriteReceipt>
  /** Sets top-level fields of the record's (object) data. */
  patch(id: string, fields: Partial<T> & Record<string, Json>): Promise<WriteReceipt>
  delete(id: string): Promise<WriteReceipt>
  /** Answers a conflict kept for the app (manual policy). */
  resolve(id: string, resolution: Resolution): Promise<WriteReceipt | null>
  /** Takes a lock on the collection (online only); writes made under an exclusive one carry its fencing token. */
  lock(options?: LockOptions): Promise<LockHandle>
}

/** A group of writes being collected by `roost.transaction`. */
export interface TransactionScope {
  put(collectionId: string, id: string, data: Json): void
  patch(collectionId: string, id: string, fields: Record<string, Json>): void
  delete(collectionId: string, id: string): void
}
