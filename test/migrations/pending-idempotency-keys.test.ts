import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrationSource } from '../../migrations/index.js'
import { createStorage } from '../../src/storage/index.js'
import { knexConfig } from '../../src/storage/knex/connection.js'
import { describeSqlBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * Upgrading a database made before idempotency keys could be pending: its
 * stored answers are still replayed (SQLite rebuilds the table to let
 * `response` be null: the rows must survive), new claims work, and the
 * migration rolls back, dropping claims that have no answer.
 */
describeSqlBackends('migration: pending idempotency keys', (backend) => {
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

  it('keeps stored answers, takes claims, and rolls back', async () => {
    // The schema as the release before this one left it.
    const all = await migrationSource.getMigrations([])
    for (const name of all.slice(0, all.indexOf('20261204180000_pending_idempotency_keys'))) await db.migrate.up({ migrationSource, name })
    const at = '2026-01-01T00:00:00.000Z'
    const ada = '00000000-0000-4000-8000-00000000000a'
    await db('users').insert({ id: ada, email: 'ada@example.com', password: 'x', created_at: at })
    await db('idempotency_keys').insert({ user_id: ada, key: 'old', fingerprint: 'f'.repeat(64), response: '{"id":"made"}', created_at: at, expires_at: '2027-01-01T00:00:00.000Z' })
    await db.destroy()

    const storage = createStorage(database.databaseUrl, database.dataDir)
    const later = '2026-01-02T00:00:00.000Z'
    try {
      await storage.migrate()
      expect(await storage.getIdempotencyKey(ada, 'old', later)).toEqual({ fingerprint: 'f'.repeat(64), response: { id: 'made' } })
      const scope = { userId: ada, key: 'old', fingerprint: 'f'.repeat(64), expiresAt: '2027-01-01T00:00:00.000Z' }
      expect(await storage.claimIdempotencyKey(scope, { token: 't', pendingUntil: '2026-01-02T00:00:30.000Z' }, later)).toEqual({ state: 'done', response: { id: 'made' } })
      const fresh = { ...scope, key: 'new' }
      expect(await storage.claimIdempotencyKey(fresh, { token: 't', pendingUntil: '2026-01-02T00:00:30.000Z' }, later)).toEqual({ state: 'claimed' })
    } finally {
      await storage.close()
      db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
    }

    await db.migrate.down({ migrationSource, name: '20261204180000_pending_idempotency_keys' })
    expect(await db.schema.hasColumn('idempotency_keys', 'claim_token')).toBe(false)
    expect(await db.schema.hasColumn('idempotency_keys', 'pending_until')).toBe(false)
    expect(await db('idempotency_keys').select('key', 'response')).toEqual([{ key: 'old', response: '{"id":"made"}' }])
  })
})
