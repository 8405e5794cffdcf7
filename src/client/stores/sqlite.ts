import { realpathSync } from 'node:fs'
import Database from 'better-sqlite3'
import { Mutex } from '../mutex.js'
import type { LocalRecord, OutboxEntry } from '../types.js'
import { checkPageOptions, type PageOptions, type RecordPage } from './paging.js'
import { assertStorable } from './storable.js'
import type { ClientStore, StoreChange } from './types.js'

/**
 * A client store in one SQLite file (better-sqlite3, Node only): records,
 * outbox and meta survive a restart or a killed process.
 *
 * Every value is kept as JSON text, checked first (assertStorable: a BigInt,
 * a function, undefined or NaN inside data fails the write with a TypeError
 * before anything is written). A `write` is one SQLite transaction; better-
 * sqlite3 is synchronous, so it runs in one turn of the event loop and no
 * other call of this process can see half of it.
 *
 * `pageRecords` pages in SQLite's text order (UTF-8 bytes), which is JS
 * string order for every id the client allows (ASCII, see ids.ts).
 *
 * `runExclusive` is a queue in this process, shared by every store object
 * opened on the same file. Two Node PROCESSES using one file at once are out
 * of scope: each write stays atomic (SQLite locks the file), but their
 * read-modify-write steps are not serialised against each other.
 */
export interface SqliteStoreOptions {
  /** Shown in messages; the path by default. */
  name?: string
  /**
   * SQLite's `synchronous` setting. FULL (the default) syncs the log on every
   * commit, so a write that resolved survives a power cut too; NORMAL survives
   * a killed process but may lose the last writes when the machine loses power.
   */
  synchronous?: 'FULL' | 'NORMAL'
  /** How long a write waits for another connection's lock (ms); 5000 by default. */
  busyTimeoutMs?: number
}

/** The schema this code writes. Bump it with a step in `migrate` when the tables change. */
export const SQLITE_STORE_SCHEMA_VERSION = 2

export function sqliteStore(path: string, options: SqliteStoreOptions = {}): ClientStore {
  return new SqliteStore(path, options)
}

class SqliteStore implements ClientStore {
  readonly name: string
  private readonly db: Database.Database
  private readonly lockKey: string
  private readonly mutex: Mutex
  private readonly statements: ReturnType<typeof prepare>
  private readonly applyAll: (changes: Serialised[]) => void
  private closed = false
  private readonly pageStatements = new Map<string, Database.Statement>()

  constructor(path: string, options: SqliteStoreOptions) {
    this.name = options.name ?? path
    this.db = new Database(path)
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
      const mode = this.db.pragma('journal_mode = WAL', { simple: true })
      // An in-memory database stays in "memory" mode; a file must be in WAL.
      if (mode !== 'wal' && !isMemory(path)) throw new Error(`${this.name}: SQLite refused WAL mode (journal_mode is ${String(mode)})`)
      this.db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
      migrate(this.db, this.name)
      this.statements = prepare(this.db)
      this.lockKey = isMemory(path) ? `:memory:${++memoryDatabases}` : realpathSync(path)
    } catch (error) {
      this.db.close()
      throw error
    }
    this.applyAll = this.db.transaction((changes: Serialised[]) => {
      for (const change of changes) this.apply(change)
    })
    this.mutex = acquireMutex(this.lockKey)
  }

  async getRecord(collectionId: string, id: string) {
    const row = this.statements.getRecord.get(collectionId, id) as { body: string } | undefined
    return row === undefined ? undefined : (JSON.parse(row.body) as LocalRecord)
  }

  async getRecords(collectionId: string, ids: string[]) {
    return ids.map((id) => {
      const row = this.statements.getRecord.get(collectionId, id) as { body: string } | undefined
      return row === undefined ? undefined : (JSON.parse(row.body) as LocalRecord)
    })
  }

  async listRecords(collectionId: string) {
    const rows = this.statements.listRecords.all(collectionId) as Array<{ id: string; body: string }>
    // SQLite orders text by its UTF-8 bytes; the contract is JS code unit order (the same for the ASCII ids Roost allows).
    return rows.sort((a, b) => compare(a.id, b.id)).map((row) => JSON.parse(row.body) as LocalRecord)
  }

  async pageRecords(collectionId: string, options: PageOptions): Promise<RecordPage> {
    const { offset, limit, idPrefix, includeDeleted } = checkPageOptions(options)
    // Counts and the page in one read transaction: they agree with each other.
    return this.db.transaction(() => {
      const live = includeDeleted ? '' : ' AND deleted = 0'
      const total = (this.statement(`SELECT count(*) AS n FROM records WHERE collection_id = ?${live}`).get(collectionId) as { n: number }).n
      let where = `collection_id = ?${live}`
      const params: unknown[] = [collectionId]
      if (idPrefix !== '') {
        // A range on the primary key rather than LIKE (wildcards, case) or substr (a scan): ids from the
        // prefix up to the prefix's UTF-8 bytes with the last one raised (never 0xFF in UTF-8), as text.
        where += ' AND id >= ? AND id < CAST(? AS TEXT)'
        params.push(idPrefix, prefixEndBytes(idPrefix))
      }
      const matching = idPrefix === '' ? total : (this.statement(`SELECT count(*) AS n FROM records WHERE ${where}`).get(...params) as { n: number }).n
      const rows = limit === 0 ? [] : (this.statement(`SELECT body FROM records WHERE ${where} ORDER BY id LIMIT ? OFFSET ?`).all(...params, limit, offset) as Array<{ body: string }>)
      return { records: rows.map((row) => JSON.parse(row.body) as LocalRecord), matching, total }
    })()
  }

  /** A statement prepared once per SQL text (pageRecords builds a few variants). */
  private statement(sql: string): Database.Statement {
    let statement = this.pageStatements.get(sql)
    if (!statement) this.pageStatements.set(sql, (statement = this.db.prepare(sql)))
    return statement
  }

  async listPendingRecords() {
    const rows = this.statements.listPending.all() as Array<{ body: string }>
    return rows.map((row) => JSON.parse(row.body) as LocalRecord)
  }

  async listOutbox() {
    const rows = this.statements.listOutbox.all() as Array<{ body: string }>
    return rows.map((row) => JSON.parse(row.body) as OutboxEntry)
  }

  async getMeta<T>(key: string) {
    const row = this.statements.getMeta.get(key) as { value: string } | undefined
    return row === undefined ? undefined : (JSON.parse(row.value) as T)
  }

  async listMeta<T>(prefix: string) {
    // Keys that start with `prefix` are one run in UTF-8 byte order starting at `prefix`
    // (LIKE and GLOB would treat _ % * ? [ as wildcards, and LIKE ignores case).
    const found: Array<[string, T]> = []
    for (const row of this.statements.metaFrom.iterate(prefix) as IterableIterator<{ key: string; value: string }>) {
      if (!row.key.startsWith(prefix)) break
      found.push([row.key, JSON.parse(row.value) as T])
    }
    return found.sort(([a], [b]) => compare(a, b))
  }

  async write(changes: StoreChange[]) {
    // Check and serialise everything before the transaction starts: a bad value writes nothing.
    assertStorable(changes)
    this.applyAll(changes.map(serialise))
  }

  runExclusive<T>(fn: () => Promise<T>) {
    return this.mutex.run(fn)
  }

  async close() {
    if (this.closed) return
    this.closed = true
    releaseMutex(this.lockKey)
    this.db.close()
  }

  private apply(change: Serialised) {
    const s = this.statements
    switch (change.type) {
      case 'putRecord':
        s.putRecord.run(change.collectionId, change.id, change.pending ? 1 : 0, change.deleted ? 1 : 0, change.body)
        break
      case 'deleteRecord':
        s.deleteRecord.run(change.collectionId, change.id)
        break
      case 'clearRecords':
        s.clearRecords.run(change.collectionId)
        break
      case 'putOutbox':
        s.putOutbox.run(change.id, change.order, change.body)
        break
      case 'deleteOutbox':
        s.deleteOutbox.run(change.id)
        break
      case 'putMeta':
        s.putMeta.run(change.key, change.value)
        break
      case 'deleteMeta':
        s.deleteMeta.run(change.key)
        break
    }
  }
}

/** A change with its values already turned into JSON text. */
type Serialised =
  | { type: 'putRecord'; collectionId: string; id: string; pending: boolean; deleted: boolean; body: string }
  | { type: 'putOutbox'; id: string; order: number; body: string }
  | { type: 'putMeta'; key: string; value: string }
  | Exclude<StoreChange, { type: 'putRecord' | 'putOutbox' | 'putMeta' }>

function serialise(change: StoreChange): Serialised {
  switch (change.type) {
    case 'putRecord': {
      const { record } = change
      return { type: 'putRecord', collectionId: record.collectionId, id: record.id, pending: record.version > record.syncedVersion, deleted: record.deleted, body: JSON.stringify(record) }
    }
    case 'putOutbox':
      return { type: 'putOutbox', id: change.entry.id, order: change.entry.order, body: JSON.stringify(change.entry) }
    case 'putMeta':
      return { type: 'putMeta', key: change.key, value: JSON.stringify(change.value) }
    default:
      return change
  }
}

/**
 * Brings the file to SQLITE_STORE_SCHEMA_VERSION (kept in PRAGMA user_version),
 * in one transaction. A file from a newer version of this code is refused
 * rather than misread.
 */
function migrate(db: Database.Database, name: string) {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > SQLITE_STORE_SCHEMA_VERSION) {
      throw new Error(`${name}: the store's schema version is ${version}, newer than this client knows (${SQLITE_STORE_SCHEMA_VERSION}); update the client`)
    }
    if (version < 1) {
      db.exec(`
        CREATE TABLE records (
          collection_id TEXT NOT NULL,
          id TEXT NOT NULL,
          pending INTEGER NOT NULL,
          body TEXT NOT NULL,
          PRIMARY KEY (collection_id, id)
        ) WITHOUT ROWID;
        CREATE INDEX records_pending ON records (collection_id, id) WHERE pending = 1;
        CREATE TABLE outbox (
          id TEXT PRIMARY KEY NOT NULL,
          ord REAL NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX outbox_order ON outbox (ord);
        CREATE TABLE meta (
          key TEXT PRIMARY KEY NOT NULL,
          value TEXT NOT NULL
        ) WITHOUT ROWID;
      `)
    }
    if (version < 2) {
      // Paged reads (pageRecords) count and skip live records without parsing bodies: a deleted flag, and an index of the live ones.
      db.exec(`
        ALTER TABLE records ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        UPDATE records SET deleted = 1 WHERE json_extract(body, '$.deleted') = 1;
        CREATE INDEX records_live ON records (collection_id, id) WHERE deleted = 0;
      `)
    }
    // Later versions: `if (version < 3) { … }`, each step in this transaction.
    db.pragma(`user_version = ${SQLITE_STORE_SCHEMA_VERSION}`)
  }).immediate()
}

function prepare(db: Database.Database) {
  return {
    getRecord: db.prepare('SELECT body FROM records WHERE collection_id = ? AND id = ?'),
    listRecords: db.prepare('SELECT id, body FROM records WHERE collection_id = ?'),
    listPending: db.prepare('SELECT body FROM records WHERE pending = 1 ORDER BY collection_id, id'),
    putRecord: db.prepare('INSERT OR REPLACE INTO records (collection_id, id, pending, deleted, body) VALUES (?, ?, ?, ?, ?)'),
    deleteRecord: db.prepare('DELETE FROM records WHERE collection_id = ? AND id = ?'),
    clearRecords: db.prepare('DELETE FROM records WHERE collection_id = ?'),
    listOutbox: db.prepare('SELECT body FROM outbox ORDER BY ord, rowid'),
    putOutbox: db.prepare('INSERT OR REPLACE INTO outbox (id, ord, body) VALUES (?, ?, ?)'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE id = ?'),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    metaFrom: db.prepare('SELECT key, value FROM meta WHERE key >= ? ORDER BY key'),
    putMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    deleteMeta: db.prepare('DELETE FROM meta WHERE key = ?')
  }
}

/** The UTF-8 bytes of `prefix` with the last byte raised by one: above every string that starts with it, in SQLite's (byte) order. */
function prefixEndBytes(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8')
  bytes[bytes.length - 1]! += 1
  return bytes
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const isMemory = (path: string) => path === ':memory:' || path === ''
/** Each in-memory (or temporary) database is a database of its own, with a queue of its own. */
let memoryDatabases = 0

/** One queue per database file in this process, shared by the store objects open on it. */
const mutexes = new Map<string, { mutex: Mutex; users: number }>()

function acquireMutex(key: string): Mutex {
  const entry = mutexes.get(key) ?? { mutex: new Mutex(), users: 0 }
  entry.users++
  mutexes.set(key, entry)
  return entry.mutex
}

function releaseMutex(key: string) {
  const entry = mutexes.get(key)
  if (entry === undefined) return
  if (--entry.users === 0) mutexes.delete(key)
}
