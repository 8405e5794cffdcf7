import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createStorage, type Storage } from '../../../src/storage/index.js'
import { describePostgres, type TestDatabase } from '../../helpers/backends.js'

/**
 * Several instances started at once on a fresh database (a deployment's
 * first start, `docker compose up --scale roost=4`): every one comes up.
 * Without the advisory lock in KnexBackend.migrate, three of four failed
 * here creating knex's migration tables side by side.
 */
describePostgres('storage: instances migrating a fresh database at the same moment', (backend) => {
  let database: TestDatabase
  const storages: Storage[] = []

  beforeAll(async () => {
    database = await backend.create()
  })
  afterAll(async () => {
    for (const storage of storages.splice(0)) await storage.close()
    await database?.cleanup()
  })

  it('all of them migrate, and each migration runs exactly once', async () => {
    for (let index = 0; index < 4; index++) storages.push(createStorage(database.databaseUrl, database.dataDir))
    const outcomes = await Promise.allSettled(storages.map((storage) => storage.migrate()))
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? 'ok' : String(outcome.reason)))).toEqual(['ok', 'ok', 'ok', 'ok'])

    const client = new pg.Client({ connectionString: database.databaseUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ name: string; runs: string }>('SELECT name, count(*) AS runs FROM knex_migrations GROUP BY name')
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.filter((row) => Number(row.runs) !== 1)).toEqual([])
      const { rows: locks } = await client.query<{ held: string }>(
        "SELECT count(*) AS held FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
      )
      expect(Number(locks[0].held)).toBe(0)
    } finally {
      await client.end()
    }
  })
})
