import type { LocalRecord, OutboxEntry } from '../types.js'
import type { PageOptions, RecordPage } from './paging.js'

export type { PageOptions, RecordPage }

/**
 * One change in an atomic write to the local store. The sync engine builds a
 * list of these and hands it to `ClientStore.write`, which applies all of
 * them or none (one IndexedDB transaction, one SQLite transaction).
 */
export type StoreChange =
  | { type: 'putRecord'; record: LocalRecord }
  | { type: 'deleteRecord'; collectionId: string; id: string }
  /** Drops every local record of a collection (a 410: the replica is thrown away). */
  | { type: 'clearRecords'; collectionId: string }
  | { type: 'putOutbox'; entry: OutboxEntry }
  | { type: 'deleteOutbox'; id: string }
  /** Small named values: cursors, the session, groups, the error state. JSON-serialisable. */
  | { type: 'putMeta'; key: string; value: unknown }
  | { type: 'deleteMeta'; key: string }

/**
 * Where a client keeps everything it must not lose: records, the outbox,
 * cursors and open groups. Implementations: memory, IndexedDB (browsers),
 * SQLite (Node). All methods are async so that IndexedDB fits.
 *
 * Values go in and come out as plain JSON-compatible objects; a store copies
 * them (structured clone or JSON), so callers may mutate what they got.
 */
export interface ClientStore {
  /** A name for messages and for the multi-tab lock (the database name, the file). */
  readonly name: string
  getRecord(collectionId: string, id: string): Promise<LocalRecord | undefined>
  /** Several records of one collection in one read (a pulled page): the answer has one entry per id, in order, undefined where there is none. */
  getRecords(collectionId: string, ids: string[]): Promise<Array<LocalRecord | undefined>>
  /** Every local record of a collection (tombstones included), ordered by id. */
  listRecords(collectionId: string): Promise<LocalRecord[]>
  /**
   * A window of one collection's records, ordered by id, with the counts a
   * paged table needs. Reads only that window (and counts), never the whole
   * collection into memory. Bad options throw a TypeError.
   */
  pageRecords(collectionId: string, options: PageOptions): Promise<RecordPage>
  /** Records with `version > syncedVersion`, of every collection. */
  listPendingRecords(): Promise<LocalRecord[]>
  /** The outbox, in `order`. */
  listOutbox(): Promise<OutboxEntry[]>
  getMeta<T = unknown>(key: string): Promise<T | undefined>
  /** Every meta entry whose key starts with `prefix`, as [key, value] pairs ordered by key. */
  listMeta<T = unknown>(prefix: string): Promise<Array<[string, T]>>
  /** Applies every change in order, atomically: all of them or none. */
  write(changes: StoreChange[]): Promise<void>
  /**
   * Runs `fn` while no other user of the same store (another client object,
   * another tab) runs a `runExclusive` of its own, so that read-modify-write
   * steps of local writes do not interleave. Memory and SQLite: a queue in
   * this process; IndexedDB: a Web Lock named after the database.
   */
  runExclusive<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}
