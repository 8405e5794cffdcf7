import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createStorage, type Storage } from '../../../src/storage/index.js'
import type { CommitOutcome, RecordWrite, StoredCollection, StoredUser, WriteContext } from '../../../src/storage/types.js'
import { describePostgres, type TestDatabase } from '../../helpers/backends.js'
import { rejection } from '../../helpers/storage.js'

/**
 * PostgreSQL's one-round-trip single write (src/storage/knex/shortcuts/pg-single-write.ts)
 * where it matters: a write that waits for its collection's row lock while
 * the transaction holding it changes the record or the author's membership.
 * The test holds that lock itself on a connection of its own, starts the
 * write, waits until PostgreSQL shows it waiting, then commits the change.
 */
describePostgres('storage: the single write on PostgreSQL, racing a change', (backend) => {
  let database: TestDatabase
  let storage: Storage
  let admin: pg.Client
  let holder: pg.Client | undefined
  let counter = 0
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString()

  beforeAll(async () => {
    database = await backend.create()
    storage = createStorage(database.databaseUrl, database.dataDir)
    await storage.migrate()
    admin = new pg.Client({ connectionString: database.databaseUrl })
    await admin.connect()
  })
  afterEach(async () => {
    await holder?.end()
    holder = undefined
  })
  afterAll(async () => {
    await admin?.end()
    await storage?.close()
    await database?.cleanup()
  })

  const newUser = (): Promise<StoredUser> => storage.createUser({ email: `racer-${++counter}@example.com`, password: 'x' }, at(0))

  /** A collection with one record `r` at version 1, owned by one user and written by another. */
  async function setUp(): Promise<{ collection: StoredCollection; writer: StoredUser }> {
    const owner = await newUser()
    const writer = await newUser()
    const collection = await storage.createCollection({ id: `race-${++counter}`, name: null, ownerId: owner.id }, at(1))
    await storage.putMember({ collectionId: collection.id, userId: writer.id, role: 'writer', at: at(2), actorId: owner.id })
    await storage.commitWrites([{ op: 'create', collectionId: collection.id, id: 'r', data: { n: 0 } }], context(owner.id))
    return { collection, writer }
  }

  const context = (actor: string): WriteContext => ({ actor, at: at(3), requireRole: 'writer' })
  const update = (collectionId: string, n: number): RecordWrite => ({ op: 'update', collectionId, id: 'r', data: { n }, baseVersion: 1 })

  /** Takes the collection's row lock in a transaction of the test's own, as a writer or membership change would. */
  async function holdCollection(collectionId: string): Promise<pg.Client> {
    holder = new pg.Client({ connectionString: database.databaseUrl })
    await holder.connect()
    await holder.query('BEGIN')
    await holder.query('SELECT 1 FROM collections WHERE id = $1 FOR UPDATE', [collectionId])
    return holder
  }

  /** Resolves once some session of the test database waits for a lock. */
  async function someoneWaits(): Promise<void> {
    for (let tries = 0; tries < 200; tries++) {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
      )
      if (rows[0].n > 0) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error('the write never waited for the collection')
  }

  /**
   * Starts the writer's update of `r` while the test holds the collection's
   * row lock, makes `change` in the holding transaction once the write waits,
   * and commits it; `write` is the write's outcome, still to be awaited.
   */
  async function writeWhile(collectionId: string, writer: StoredUser, change: (hold: pg.Client) => Promise<unknown>): Promise<{ write: Promise<CommitOutcome> }> {
    const hold = await holdCollection(collectionId)
    const write = storage.commitWrites([update(collectionId, 1)], context(writer.id))
    write.catch(() => undefined) // the caller awaits it
    await someoneWaits()
    await change(hold)
    await hold.query('COMMIT')
    return { write }
  }

  const positionOf = async (collectionId: string): Promise<number> => (await storage.getCollection(collectionId))!.seq

  it('the record changed while the write waited: a version conflict, and no position without its change', async () => {
    const { collection, writer } = await setUp()
    const { write } = await writeWhile(collection.id, writer, async (hold) => {
      await hold.query('UPDATE collections SET seq = seq + 1 WHERE id = $1', [collection.id])
      await hold.query(`UPDATE records SET version = 2, data = '{"n":99}', seq = 2 WHERE collection_id = $1 AND id = 'r'`, [collection.id])
    })

    const error = await rejection(write, 'conflict')
    expect(error.conflicts).toEqual([
      expect.objectContaining({ id: 'r', reason: 'version-mismatch', current: expect.objectContaining({ version: 2, data: { n: 99 } }) })
    ])
    expect(await positionOf(collection.id)).toBe(2)
    expect((await storage.changesSince(collection.id, { since: 0, limit: 10 })).changes.map((change) => [change.seq, change.version])).toEqual([[2, 2]])
  })

  it('the author was removed while the write waited: refused, nothing written', async () => {
    const { collection, writer } = await setUp()
    const { write } = await writeWhile(collection.id, writer, (hold) =>
      hold.query('DELETE FROM members WHERE collection_id = $1 AND user_id = $2', [collection.id, writer.id])
    )

    await rejection(write, 'forbidden')
    expect(await positionOf(collection.id)).toBe(1)
    expect(await storage.getRecord(collection.id, 'r')).toMatchObject({ version: 1, data: { n: 0 } })
  })

  it('the author was made a reader while the write waited: refused, nothing written', async () => {
    const { collection, writer } = await setUp()
    const { write } = await writeWhile(collection.id, writer, (hold) =>
      hold.query("UPDATE members SET role = 'reader' WHERE collection_id = $1 AND user_id = $2", [collection.id, writer.id])
    )

    const error = await rejection(write, 'forbidden')
    expect(error.message).toContain('reader')
    expect(await positionOf(collection.id)).toBe(1)
    expect(await storage.getRecord(collection.id, 'r')).toMatchObject({ version: 1, data: { n: 0 } })
  })

  it('nothing in the way: the write waits for the lock, then lands at the next position', async () => {
    const { collection, writer } = await setUp()
    const { write } = await writeWhile(collection.id, writer, async () => undefined)
    const result = await write
    expect(result.records[0]).toMatchObject({ version: 2, seq: 2, data: { n: 1 } })
    expect(await positionOf(collection.id)).toBe(2)
  })
})
