import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrationSource } from '../../migrations/index.js'
import { createStorage } from '../../src/storage/index.js'
import { knexConfig } from '../../src/storage/knex/connection.js'
import { describeSqlBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * Upgrading a database made before sharing: every collection's owner becomes
 * its first member (an owner), so nobody loses access to what they had.
 */
describeSqlBackends('migration: sharing', (backend) => {
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

  it('makes the owner of every existing collection its owner member', async () => {
    // The schema as the release before sharing left it.
    await db.migrate.up({ migrationSource, name: '20261124000000_initial' })
    await db.migrate.up({ migrationSource, name: '20261124000001_batches_and_idempotency' })
    await db.migrate.up({ migrationSource, name: '20261124000002_locks' })
    const at = '2026-01-01T00:00:00.000Z'
    await db('users').insert([
      { id: '00000000-0000-4000-8000-00000000000a', email: 'ada@example.com', password: 'x', created_at: at },
      { id: '00000000-0000-4000-8000-00000000000b', email: 'bob@example.com', password: 'x', created_at: at }
    ])
    await db('collections').insert([
      { id: 'adas', name: null, owner_id: '00000000-0000-4000-8000-00000000000a', epoch: 'e1', seq: 0, created_at: at, updated_at: at },
      { id: 'bobs', name: 'Bob', owner_id: '00000000-0000-4000-8000-00000000000b', epoch: 'e2', seq: 0, created_at: at, updated_at: at }
    ])
    await db.destroy()

    // Roost starts on it: migrate() brings it up to date.
    const storage = createStorage(database.databaseUrl, database.dataDir)
    try {
      await storage.migrate()
      expect(await storage.listMemberRoles('adas')).toEqual([{ userId: '00000000-0000-4000-8000-00000000000a', role: 'owner' }])
      expect(await storage.listMemberRoles('bobs')).toEqual([{ userId: '00000000-0000-4000-8000-00000000000b', role: 'owner' }])
      expect((await storage.getCollectionAccess('adas', '00000000-0000-4000-8000-00000000000a'))?.role).toBe('owner')
      expect((await storage.getCollectionAccess('adas', '00000000-0000-4000-8000-00000000000b'))?.role).toBeUndefined()
    } finally {
      await storage.close()
      db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
    }
  })
})
