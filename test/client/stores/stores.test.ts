import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../src/client/stores/memory.js'
import { SQLITE_STORE_SCHEMA_VERSION, sqliteStore } from '../../../src/client/stores/sqlite.js'
import type { ClientStore } from '../../../src/client/stores/types.js'
import type { LocalRecord } from '../../../src/client/types.js'
import { storeChecks } from './store-checks.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const CHILD = fileURLToPath(new URL('./sqlite-kill-child.ts', import.meta.url))

const tempDirs: string[] = []
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roost-client-store-'))
  tempDirs.push(dir)
  return join(dir, 'client.sqlite')
}
afterEach(async () => {
  // Removes the database with its -wal and -shm files.
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('memory store', () => {
  // One MemoryStore is the storage: every `open` hands out the same object
  // (its close() keeps the data, as two clients sharing one object need), so
  // "reopen" and "two store objects" both see the same maps.
  for (const check of storeChecks) {
    it(check.name, async () => {
      const storage = new MemoryStore()
      await check.run(async () => storage)
    })
  }
})

describe('SQLite store', () => {
  for (const check of storeChecks) {
    it(check.name, async () => {
      const path = await tempFile()
      await check.run(async () => sqliteStore(path))
    })
  }

  it('keeps WAL mode and its schema version in PRAGMA user_version', async () => {
    const path = await tempFile()
    const store = sqliteStore(path)
    await store.write([{ type: 'putMeta', key: 'k', value: 1 }])
    await store.close()
    const db = new Database(path, { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_STORE_SCHEMA_VERSION)
    } finally {
      db.close()
    }
  })

  it('refuses a file written by a newer schema, and leaves it as it was', async () => {
    const path = await tempFile()
    const db = new Database(path)
    db.pragma('user_version = 99')
    db.exec('CREATE TABLE future (x)')
    db.close()
    expect(() => sqliteStore(path, { name: 'future.sqlite' })).toThrow(`future.sqlite: the store's schema version is 99, newer than this client knows (${SQLITE_STORE_SCHEMA_VERSION})`)
    const again = new Database(path, { readonly: true })
    try {
      expect(again.pragma('user_version', { simple: true })).toBe(99)
      expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: 'future' }])
    } finally {
      again.close()
    }
  })

  it('upgrades a version 1 file: its records keep their data, and pageRecords counts and skips its tombstones', async () => {
    const path = await tempFile()
    // The version 1 layout, as the client of that version made it.
    const v1 = new Database(path)
    v1.exec(`
      CREATE TABLE records (collection_id TEXT NOT NULL, id TEXT NOT NULL, pending INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (collection_id, id)) WITHOUT ROWID;
      CREATE INDEX records_pending ON records (collection_id, id) WHERE pending = 1;
      CREATE TABLE outbox (id TEXT PRIMARY KEY NOT NULL, ord REAL NOT NULL, body TEXT NOT NULL);
      CREATE INDEX outbox_order ON outbox (ord);
      CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
    `)
    const records: LocalRecord[] = ['a', 'b', 'c', 'd', 'e'].map((id, index) => ({
      collectionId: 'notes', id, data: index % 2 === 1 ? null : { id }, deleted: index % 2 === 1, version: 2, syncedVersion: index === 4 ? 1 : 2, base: null
    }))
    const insert = v1.prepare('INSERT INTO records (collection_id, id, pending, body) VALUES (?, ?, ?, ?)')
    for (const record of records) insert.run(record.collectionId, record.id, record.version > record.syncedVersion ? 1 : 0, JSON.stringify(record))
    v1.pragma('user_version = 1')
    v1.close()

    const store = sqliteStore(path)
    try {
      expect(await store.listRecords('notes')).toEqual(records)
      expect((await store.listPendingRecords()).map((record) => record.id)).toEqual(['e'])
      expect(await store.pageRecords('notes', { offset: 1, limit: 10 })).toEqual({ records: [records[2], records[4]], matching: 3, total: 3 })
      expect(await store.pageRecords('notes', { offset: 0, limit: 2, includeDeleted: true })).toEqual({ records: records.slice(0, 2), matching: 5, total: 5 })
      // Written after the upgrade: counted by the new column.
      await store.write([{ type: 'putRecord', record: { ...records[0]!, deleted: true, data: null, version: 3, syncedVersion: 3 } }])
      expect((await store.pageRecords('notes', { offset: 0, limit: 10 })).records.map((record) => record.id)).toEqual(['c', 'e'])
    } finally {
      await store.close()
    }
    const after = new Database(path, { readonly: true })
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(SQLITE_STORE_SCHEMA_VERSION)
      // Counting live records reads the partial index, not the table.
      const plan = after.prepare("EXPLAIN QUERY PLAN SELECT count(*) FROM records WHERE collection_id = 'notes' AND deleted = 0").all() as Array<{ detail: string }>
      expect(plan.map((step) => step.detail).join(' ')).toContain('records_live')
    } finally {
      after.close()
    }
  })

  it('works in memory (":memory:"), each store a database of its own', async () => {
    const a = sqliteStore(':memory:')
    const b = sqliteStore(':memory:')
    try {
      await a.write([{ type: 'putMeta', key: 'k', value: 'a' }])
      expect(await a.getMeta('k')).toBe('a')
      expect(await b.getMeta('k')).toBeUndefined()
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('rejects a non-JSON value with a TypeError naming where it is, before writing anything', async () => {
    const path = await tempFile()
    const store: ClientStore = sqliteStore(path)
    try {
      const record = { collectionId: 'c', id: 'r', data: { a: [1, { price: BigInt(10) }] }, deleted: false, version: 1, syncedVersion: 0, base: null }
      await expect(store.write([{ type: 'putMeta', key: 'k', value: 1 }, { type: 'putRecord', record: record as never }])).rejects.toThrow(
        new TypeError('record c/r: data.a[1].price is a BigInt (only null, booleans, finite numbers, strings, arrays and plain objects: JSON)')
      )
      expect(await store.listMeta('')).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('rolls back the whole write when SQLite fails in the middle of it', async () => {
    // Valid values never fail inside SQLite, so a trigger stands in for what
    // can (a full disk, an I/O error): it aborts the third change of the write.
    const path = await tempFile()
    const store = sqliteStore(path)
    try {
      await store.write([{ type: 'putMeta', key: 'kept', value: 1 }])
      const db = new Database(path)
      db.exec("CREATE TRIGGER fail_on_boom BEFORE INSERT ON meta WHEN NEW.key = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END")
      db.close()
      const record = { collectionId: 'c', id: 'r', data: { a: 1 }, deleted: false, version: 2, syncedVersion: 1, base: null }
      const entry = { id: 'e', order: 1, collectionId: 'c', recordId: 'r', op: 'put' as const, data: { a: 1 }, localVersion: 2, createdAt: '2026-01-01T00:00:00.000Z', state: 'pending' as const }
      await expect(
        store.write([
          { type: 'putRecord', record },
          { type: 'putOutbox', entry },
          { type: 'deleteMeta', key: 'kept' },
          { type: 'putMeta', key: 'boom', value: 2 }
        ])
      ).rejects.toThrow('boom refused')
      expect(await store.getRecord('c', 'r')).toBeUndefined()
      expect(await store.listOutbox()).toEqual([])
      expect(await store.listMeta('')).toEqual([['kept', 1]])
      // The connection is usable afterwards (the transaction was rolled back, not left open).
      await store.write([{ type: 'putRecord', record }])
      expect(await store.getRecord('c', 'r')).toEqual(record)
    } finally {
      await store.close()
    }
  })

  it('keeps a write made right before its process was killed (SIGKILL)', async () => {
    const path = await tempFile()
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    expect(exit, output).toEqual({ code: null, signal: 'SIGKILL' })
    // The process never closed the database: the write is still only in the write-ahead log.
    expect((await stat(`${path}-wal`)).size).toBeGreaterThan(0)

    const store = sqliteStore(path)
    try {
      const data = { text: 'written before the kill', list: [1, 'two', null] }
      expect(await store.getRecord('notes', 'n1')).toEqual({
        collectionId: 'notes',
        id: 'n1',
        data,
        deleted: false,
        version: 1,
        syncedVersion: 0,
        base: null,
        pendingSince: '2026-01-01T00:00:00.000Z'
      })
      expect(await store.listOutbox()).toEqual([
        { id: 'write-1', order: 1, collectionId: 'notes', recordId: 'n1', op: 'put', data, localVersion: 1, createdAt: '2026-01-01T00:00:00.000Z', state: 'pending' }
      ])
      expect((await store.listPendingRecords()).map((record) => record.id)).toEqual(['n1'])
    } finally {
      await store.close()
    }
  })
})
