import { execFile, spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type ClientStore } from '../../src/client/index.js'
import type { FeedPosition } from '../../src/client/engine/pull.js'
import { createApp } from '../../src/app.js'
import { decodeCursor } from '../../src/cursor.js'
import type { Application } from '../../src/declarations.js'
import { listen } from '../../src/listen.js'
import { createStorage } from '../../src/storage/index.js'
import type { StoredCollection } from '../../src/storage/types.js'
import { describeOn, postgres, sqlite, type TestDatabase } from '../helpers/backends.js'
import { TestProxy } from '../client/proxy.js'
import { account, Clients, localData, newId, serverData, session, synced, until } from '../client/helpers.js'

/**
 * Restoring a backup under clients that synced past it (docs/DEPLOY.md, "Backups and restore"):
 * a client holds a replica and a cursor from after the backup. Once the
 * restored collection's position passes that cursor again, the cursor would be
 * accepted and the changes in between skipped. `npm run after-restore` gives
 * every collection a new epoch: the client's next pull gets 410, it drops its
 * replica (keeping its pending writes), pulls from the beginning and ends with
 * exactly the server's state. The control: the cursor the client kept is of
 * the restored collection's epoch, so without the script it would have been
 * accepted. With the two after-restore runs taken out, the test fails: the
 * phone never holds the server's state (it keeps records the server lost and
 * misses new ones).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

/** How a backup is taken (while the server runs) and restored (while it is stopped). */
interface BackupMethod {
  backup(database: TestDatabase, file: string): Promise<void>
  restore(database: TestDatabase, file: string): Promise<void>
}

const pgDump: BackupMethod = {
  async backup(database, file) {
    await run('pg_dump', ['--format=custom', `--file=${file}`, `--dbname=${database.databaseUrl}`])
  },
  async restore(database, file) {
    await run('pg_restore', ['--clean', '--if-exists', '--single-transaction', `--dbname=${database.databaseUrl}`, file])
  }
}

const sqliteFile = (database: TestDatabase) => path.join(database.dataDir, 'roost.sqlite')

const sqliteOnlineBackup: BackupMethod = {
  async backup(database, file) {
    // SQLite's online backup API, on a connection of its own next to the server's (WAL mode: the server keeps writing).
    const db = new Database(sqliteFile(database), { readonly: true })
    try {
      await db.backup(file)
    } finally {
      db.close()
    }
  },
  async restore(database, file) {
    // The server is stopped: the file goes back in place, and a write-ahead log left beside it must not be replayed onto it.
    for (const suffix of ['-wal', '-shm']) rmSync(sqliteFile(database) + suffix, { force: true })
    copyFileSync(file, sqliteFile(database))
  }
}

/** pg_dump and pg_restore of the local PostgreSQL, or why they cannot run. */
const pgToolsProblem = ['pg_dump', 'pg_restore'].map((tool) => (spawnSync(tool, ['--version']).status === 0 ? undefined : `${tool} is not installed`)).find(Boolean)

/** `npm run after-restore` as the operator runs it, with the server's settings: its output. */
async function afterRestore(database: TestDatabase): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/after-restore.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: database.databaseUrl, ROOST_DATA_DIR: database.dataDir }
  })
  return stdout
}

/** A Roost server on `port` (0: a free one) that can be stopped and started again on the same database. */
async function startRoost(database: TestDatabase, port = 0): Promise<{ app: Application; server: Server; port: number }> {
  const app = createApp({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, host: '127.0.0.1', port, logLevel: 'silent' })
  const server = await listen(app, port, '127.0.0.1')
  return { app, server, port: (server.address() as AddressInfo).port }
}

async function stopRoost(roost: { app: Application; server: Server } | undefined) {
  if (roost === undefined) return
  roost.server.closeAllConnections()
  await roost.app.teardown()
}

/** The collection as the database holds it, read without a server. */
async function storedCollection(database: TestDatabase, id: string): Promise<StoredCollection> {
  const storage = createStorage(database.databaseUrl, database.dataDir)
  try {
    return (await storage.getCollection(id))!
  } finally {
    await storage.close()
  }
}

const cursorOf = async (store: ClientStore, collectionId: string) => (await store.getMeta<FeedPosition>(`cursor:${collectionId}`))!.cursor!

function restoreScenario(backend: typeof postgres, method: BackupMethod) {
  const clients = new Clients()
  let database: TestDatabase | undefined
  let roost: Awaited<ReturnType<typeof startRoost>> | undefined
  let proxy: TestProxy | undefined
  let folder: string | undefined
  afterEach(async () => {
    await clients.closeAll()
    await proxy?.close()
    await stopRoost(roost)
    await database?.cleanup()
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true })
  })

  it('a client that synced past the backup pulls again from the beginning and ends with exactly the server state', async () => {
    database = await backend.create()
    folder = mkdtempSync(path.join(tmpdir(), 'roost-backup-'))
    const backupFile = path.join(folder, 'backup')
    roost = await startRoost(database)
    const port = roost.port
    const url = `http://127.0.0.1:${port}`
    const user = await account(url)
    const collectionId = newId()
    proxy = await new TestProxy(url).start()
    const store = memoryStore()
    const phone = clients.create({ url: proxy.url, auth: user, store })
    const notes = phone.collection(collectionId)
    await notes.put('kept', { v: 1 })
    await notes.put('edited-later', { v: 1 })
    await notes.put('deleted-later', { v: 1 })
    await synced(phone)

    await method.backup(database, backupFile)

    // Acknowledged after the backup: the restore loses these.
    await notes.put('added-later', { v: 2 })
    await notes.patch('edited-later', { v: 2 })
    await notes.delete('deleted-later')
    await synced(phone)
    const api = await session(url, user)
    expect(Object.keys(await serverData(api, collectionId)).sort()).toEqual(['added-later', 'edited-later', 'kept'])
    const staleCursor = await cursorOf(store, collectionId)

    // The phone goes offline and keeps writing; the server is stopped and the backup restored.
    proxy.down()
    const pending = await notes.put('written-offline', { v: 3 })
    await stopRoost(roost)
    roost = undefined
    await method.restore(database, backupFile)

    // The control: the restored collection still has the epoch of the phone's cursor, which points past its position.
    const restored = await storedCollection(database, collectionId)
    expect(staleCursor.endsWith(`.${restored.epoch}`)).toBe(true)
    const ahead = Number(staleCursor.split('.')[0])
    expect(ahead).toBeGreaterThan(restored.seq)
    // Once new writes brought the position there, it would be accepted, and what came between skipped.
    expect(decodeCursor(staleCursor, { ...restored, seq: ahead })).toBe(ahead)

    const output = await afterRestore(database)
    expect(output).toMatch(/must be stopped/)
    expect(output).toMatch(/Renewed 1 collection of the (sqlite|postgres) database/)
    // Twice is harmless.
    expect(await afterRestore(database)).toMatch(/Renewed 1 collection/)
    const renewed = await storedCollection(database, collectionId)
    expect(renewed).toEqual({ ...restored, epoch: expect.any(String) })
    expect(renewed.epoch).not.toBe(restored.epoch)

    // Back on the same port; another device writes enough to carry the position past the phone's cursor.
    roost = await startRoost(database, port)
    const laptop = clients.create({ url, auth: user, store: memoryStore() })
    for (const id of ['new-1', 'new-2', 'new-3', 'new-4']) await laptop.collection(collectionId).put(id, { v: 4 })
    await synced(laptop)
    expect((await storedCollection(database, collectionId)).seq).toBeGreaterThan(ahead)

    proxy.up()
    await until(async () => (await phone.awaitWrite(pending.writeId)).status === 'applied', 'the offline write to be pushed')
    await synced(phone)
    const expected = {
      kept: { v: 1 },
      'edited-later': { v: 1 },
      'deleted-later': { v: 1 },
      'written-offline': { v: 3 },
      'new-1': { v: 4 },
      'new-2': { v: 4 },
      'new-3': { v: 4 },
      'new-4': { v: 4 }
    }
    expect(await serverData(await session(url, user), collectionId)).toEqual(expected)
    await until(async () => JSON.stringify(sorted(await localData(phone, collectionId))) === JSON.stringify(sorted(expected)), 'the phone to hold exactly the server state')
    expect((await cursorOf(store, collectionId)).endsWith(`.${renewed.epoch}`)).toBe(true)
    expect(phone.status.get()).toMatchObject({ pending: 0, conflicts: 0, rejected: 0, fatal: null })
  })
}

const sorted = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)))

describeOn(postgres, 'restore from pg_dump, then after-restore', (backend) => {
  if (pgToolsProblem === undefined) restoreScenario(backend, pgDump)
  else if (process.env.CI === 'true') it('needs pg_dump and pg_restore under CI', () => expect.fail(pgToolsProblem))
  else {
    console.warn(`SKIPPED the pg_dump restore test: ${pgToolsProblem}.`)
    it.skip(`(skipped: ${pgToolsProblem})`, () => undefined)
  }
})

describe('restore from an online SQLite backup, then after-restore [sqlite]', () => {
  restoreScenario(sqlite, sqliteOnlineBackup)
})
