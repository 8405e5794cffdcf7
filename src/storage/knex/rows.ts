import { jsonText } from '../json-text.js'
import type { JsonValue, SortField, StoredCollection, StoredRecord, StoredUser } from '../types.js'

/** Column names and the mapping between rows and storage types. */

export interface UserRow {
  id: string
  email: string
  password: string
  created_at: string
}

export interface CollectionRow {
  id: string
  name: string | null
  owner_id: string
  epoch: string
  seq: number | string // bigint: pg returns a string
  /** Fencing-token counter of the collection's locks. */
  lock_seq?: number | string
  created_at: string
  updated_at: string
}

export interface RecordRow {
  collection_id: string
  id: string
  version: number
  data: string | null
  deleted: boolean | number // SQLite has no booleans
  updated_at: string
  updated_by: string | null
  /** Of the call that wrote this version; null when it had none. */
  idempotency_key: string | null
  seq: number | string
}

export const userFromRow = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email,
  password: row.password,
  createdAt: row.created_at
})

export const collectionFromRow = (row: CollectionRow): StoredCollection => ({
  id: row.id,
  name: row.name,
  ownerId: row.owner_id,
  epoch: row.epoch,
  seq: Number(row.seq),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

export const recordFromRow = (row: RecordRow): StoredRecord => ({
  collectionId: row.collection_id,
  id: row.id,
  version: Number(row.version),
  data: row.data === null ? null : (JSON.parse(row.data) as JsonValue),
  deleted: Boolean(row.deleted),
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
  // Absent rather than null, so that versions written without a key look as they did before keys were kept.
  ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
  seq: Number(row.seq)
})

// `data` is kept as JSON text, byte for byte what the client sent once
// serialised: the server never queries inside it (it may be ciphertext).
export const recordToRow = (record: StoredRecord): RecordRow => ({
  collection_id: record.collectionId,
  id: record.id,
  version: record.version,
  data: record.deleted ? null : jsonText(record.data),
  deleted: record.deleted,
  updated_at: record.updatedAt,
  updated_by: record.updatedBy,
  idempotency_key: record.idempotencyKey ?? null,
  seq: record.seq
})

/** The columns of `records`, in the order raw inserts list them. */
export const RECORD_COLUMNS = ['collection_id', 'id', 'version', 'data', 'deleted', 'updated_at', 'updated_by', 'idempotency_key', 'seq'] as const satisfies ReadonlyArray<keyof RecordRow>

export const SORT_COLUMNS: Record<SortField, string> = {
  id: 'id',
  version: 'version',
  updatedAt: 'updated_at',
  updatedBy: 'updated_by',
  seq: 'seq'
}
