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
}

export const viewOf = <T = Json>(record: LocalRecord): RecordView<T> => ({
  id: record.id,
  data: record.data as T,
  deleted: record.deleted,
  serverVersion: record.base?.version ?? null,
  pending: record.version > record.syncedVersion && !record.conflict,
  conflict: record.conflict ? record.conflict.server : null,
  updatedAt: record.base?.updatedAt ?? null,
  updatedBy: record.base?.updatedBy ?? null
})

/** One synced collection: local-first reads and writes. */
export interface Collection<T = Json> {
  readonly id: string
  /** The local record (tombstones included: check `deleted`). */
  get(id: string): Promise<RecordView<T> | undefined>
  /** Every live local record, ordered by id. */
  list(): Promise<RecordView<T>[]>
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
