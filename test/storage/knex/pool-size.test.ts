import { afterAll, beforeAll, expect, it } from 'vitest'
import { createStorage, type Storage } from '../../../src/storage/index.js'
import { describePostgres, type TestDatabase } from '../../helpers/backends.js'

/** `databasePoolSize` (DATABASE_POOL_SIZE) bounds the connections one instance opens to PostgreSQL. */
describePostgres('storage: the database pool size setting', (backend) => {
  let database: TestDatabase
  let storage: Storage

  beforeAll(async () => {
    database = await backend.create()
    storage = createStorage(database.databaseUrl, database.dataDir, { poolSize: 3 })
    await storage.migrate()
  })
  afterAll(async () => {
    await storage?.close()
    await database?.cleanup()
  })

  it('opens at most that many connections, however many calls run at once', async () => {
    expect(storage.poolStats().max).toBe(3)
    let most = 0
    const watching = setInterval(() => {
      most = Math.max(most, storage.poolStats().used)
    }, 2)
    try {
      await Promise.all(Array.from({ length: 12 }, () => storage.ping()))
    } finally {
      clearInterval(watching)
    }
    const stats = storage.poolStats()
    expect(most).toBeLessThanOrEqual(3)
    expect(stats.used + stats.free).toBeLessThanOrEqual(3)
    expect(stats.used + stats.free).toBeGreaterThan(0)
  })
})
