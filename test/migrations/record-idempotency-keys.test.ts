import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrationSource } from '../../migrations/index.js'
import { createStorage } from '../../src/storage/index.js'
import { recordOfChange } from '../../src/storage/changes.js'
import { knexConfig } from '../../src/storage/knex/connection.js'
import { describeSqlBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * Upgrading a database made before records kept the idempotency key of the
 * call that wrote them: existing versions read exactly as before (no
 * `idempotencyKey` field), and the next write records its key.
 */
describeSqlBackends('migration: record idempotency keys', (backend) => {
  let database: TestDatabase
  let db: Knex

  beforeAll(async () => {
    database = await backend.create()
    db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
  })
  afterAll(async () => {
    await db?.destroy()
    await database?.cleanup()
  })

  it('leaves existing versions without a key, and later writes record theirs', async () => {
    // The schema as the release before this one left it.
    for (const name of ['20261124000000_initial', '20261124000001_batches_and_idempotency', '20261124000002_locks', '20261124000003_sharing']) {
      await db.migrate.up({ migrationSource, name })
    }
    const at = '2026-01-01T00:00:00.000Z'
    const ada = '00000000-0000-4000-8000-00000000000a'
    await db('users').insert({ id: ada, email: 'ada@example.com', password: 'x', created_at: at })
    await db('collections').insert({ id: 'adas', name: null, owner_id: ada, epoch: 'e1', seq: 1, created_at: at, updated_at: at })
    await db('members').insert({ collection_id: 'adas', user_id: ada, role: 'owner', created_at: at, updated_at: at })
    await db('records').insert({ collection_id: 'adas', id: 'r', version: 1, data: '{"a":1}', deleted: false, updated_at: at, updated_by: ada, seq: 1 })
    await db.destroy()

    // Roost starts on it: migrate() brings it up to date.
    const storage = createStorage(database.databaseUrl, database.dataDir)
    try {
      await storage.migrate()
      const before = { collectionId: 'adas', id: 'r', version: 1, data: { a: 1 }, deleted: false, updatedAt: at, updatedBy: ada, seq: 1 }
      expect(await storage.getRecord('adas', 'r')).toEqual(before)
      expect((await storage.changesSince('adas', { since: 0, limit: 10 })).changes.map(recordOfChange)).toEqual([before])

      const later = '2026-01-02T00:00:00.000Z'
      await storage.commitWrites([{ op: 'update', collectionId: 'adas', id: 'r', data: { a: 2 }, baseVersion: 1 }], { actor: ada, at: later, idempotencyKey: 'k-1' })
      expect(await storage.getRecord('adas', 'r')).toMatchObject({ version: 2, idempotencyKey: 'k-1' })
    } finally {
      await storage.close()
      db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
    }
  })
})
