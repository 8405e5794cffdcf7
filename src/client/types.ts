/**
 * Public types of Roost's offline-first client. It imports the server's
 * shared types only (type-only imports: nothing of the server is bundled).
 */
import type { RecordItem } from '../services/records/records.shared.js'
import type { Lock } from '../services/locks/locks.shared.js'

export type { RecordItem, Lock }

/** Any JSON value: what a record's `data` may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A record as the server last told us (a tombstone has deleted: true, data: null). */
export type ServerRecord = RecordItem

/** How a record stands locally. */
export interface LocalRecord {
  collectionId: string
  id: string
  /** The local view of the data (optimistic); null in a tombstone. */
  data: Json
  deleted: boolean
  /** Local counter: bumped by every local write, never by the sync loop. */
  version: number
  /** The local `version` known to be on the server; changed only by the sync loop. `version > syncedVersion` means pending. */
  syncedVersion: number
  /** The server state that the local data is based on (the base version of the next push); null if never seen on the server. */
  base: ServerRecord | null
  /** A conflict waiting for the app (manual policy): the server's record that the local write lost against. */
  conflict?: { server: ServerRecord | null; at: string } | null
  /**
   * The push of this record that was sent (or is about to be) and whose
   * answer has not been seen: re-sent exactly, with the same idempotency key,
   * until an answer settles it. Local writes keep it as it is.
   */
  /** When the oldest not-yet-synced local write of this record was made (ISO). */
  pendingSince?: string | null
  attempt?: PushAttempt | null
  /** Keys of earlier attempts whose fate was never learned (their batch is gone): a 409 naming one of them is our own write. */
  unconfirmedKeys?: string[]
}

/** One push of one record, persisted before it is sent. */
export interface PushAttempt {
  /** The Idempotency-Key (single writes) or the commit's key (batches). */
  key: string
  /** The local version this push carries. */
  localVersion: number
  /** Set when the push is part of a batch (ungrouped pushes and groups). */
  batchId?: string | null
  /** A single write: the request exactly as sent. */
  request?: { method: 'POST' | 'PUT' | 'DELETE'; path: string; query?: Record<string, string | number>; body?: unknown; lockToken?: number | null } | null
}

export type WriteOp = 'put' | 'patch' | 'delete'

/** One local write, kept until it reaches an outcome. Its id is its Idempotency-Key. */
export interface OutboxEntry {
  id: string
  /** Order of local writes in this store (monotonic). */
  order: number
  collectionId: string
  recordId: string
  op: WriteOp
  /** The record's whole data right after this write (null for a delete): what a push of this write sends. */
  data: Json
  /** The record's local version after this write. */
  localVersion: number
  /** Set for writes of a group (`roost.transaction`): the group's id, also its batch id. */
  groupId?: string | null
  /** The fencing token of the exclusive lock held on the collection when the write was made. */
  lockToken?: number | null
  createdAt: string
  /** pending until pushed; parked entries (conflict, rejected) wait for the app. */
  state: 'pending' | 'conflict' | 'rejected'
  /** Why it was rejected or conflicted (for the app). */
  reason?: WriteFailure | null
}

export interface WriteFailure {
  code: number
  name: string
  message: string
  data?: unknown
}

/** What finally happened to one local write. */
export type WriteOutcome =
  | { writeId: string; collectionId: string; recordId: string; status: 'applied'; record: ServerRecord | null }
  | { writeId: string; collectionId: string; recordId: string; status: 'conflict'; resolution: ConflictResolution; server: ServerRecord | null }
  | { writeId: string; collectionId: string; recordId: string; status: 'rejected'; error: WriteFailure }

/** How a conflict ended: kept for the app (manual), or resolved by a policy. */
export type ConflictResolution = 'manual' | 'server-wins' | 'client-wins' | 'merged' | 'resolved'

export interface MergeInput {
  collectionId: string
  id: string
  /** The local data (null if deleted locally). */
  local: Json
  localDeleted: boolean
  /** The server's current record (null if it does not exist there). */
  server: ServerRecord | null
  /** The server record the local write was based on (null if created locally). */
  base: ServerRecord | null
}

/** What a merge function returns: the data to push, or `{ deleted: true }`. */
export type MergeResult = { data: Json } | { deleted: true }

export type ConflictPolicy = 'manual' | 'server-wins' | 'client-wins' | ((input: MergeInput) => MergeResult | Promise<MergeResult>)

/** The sync status, observable. */
export interface SyncStatus {
  /** The server answered the last sync cycle (over REST). Whether changes arrive as they commit: see `live`. */
  connected: boolean
  /** The socket is up and subscribed to every collection: changes arrive as they commit (false in REST-only mode). */
  live: boolean
  pushing: boolean
  pulling: boolean
  /** Local writes not yet applied on the server (parked ones excluded). */
  pending: number
  /** When the oldest pending write was made (ISO), or null. */
  oldestPendingAt: string | null
  /** Records with a conflict waiting for the app. */
  conflicts: number
  /** Writes rejected for good, waiting to be acknowledged. */
  rejected: number
  /** When the outbox was last empty and every collection pulled to its end (ISO). */
  lastSyncedAt: string | null
  /** Every collection has been pulled to its end at least once. */
  firstSyncDone: boolean
  /** The last transient error (cleared by the next success), or a fatal one (see `fatal`). */
  error: ClientError | null
  /** A non-recoverable error: the client stopped syncing until `roost.resetError()`. Persisted. */
  fatal: ClientError | null
}

export interface ClientError {
  code: number
  name: string
  message: string
  collectionId?: string
  at: string
}

export interface Progress {
  phase: 'push' | 'pull'
  collectionId?: string
  done: number
  /** Known total, when known (pushes always; pulls while a first sync runs: unknown → null). */
  total: number | null
}

/** A server change the client applied to its store (`roost.onServerChange`): what changed, not the data. */
export interface ServerChange {
  collectionId: string
  id: string
  version: number
  deleted: boolean
  /** Its position in the collection's change feed: each is heard once. */
  seq: number
  updatedAt: string
  updatedBy: string | null
}

/** A realtime event about a collection (`roost.onCollectionEvent`): something to look at again. */
export interface CollectionEvent {
  /** lock: a lock was taken, released, broken or expired; member: someone joined, changed role or left; removed: the collection was deleted; keys: its encryption keys changed. */
  type: 'lock' | 'member' | 'removed' | 'keys'
  collectionId: string
}

/** A tiny observable: `subscribe` calls the listener at once with the current value. */
export interface Observable<T> {
  get(): T
  subscribe(listener: (value: T) => void): () => void
}
