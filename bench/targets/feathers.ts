import Database from 'better-sqlite3'
import pg from 'pg'
import { spawnNode } from '../lib/children.js'
import { createDatabase, type Backend, type BenchDatabase } from '../lib/databases.js'
import { HttpClient, waitForHttp } from '../lib/http.js'
import { freePort } from '../lib/ports.js'
import type { FeathersTarget } from './types.js'

/** The plain Feathers app (feathers-app.ts) in its own process on a fresh database. */
export async function startFeathers(backend: Backend): Promise<FeathersTarget> {
  const database = await createDatabase(backend)
  const port = await freePort()
  const child = spawnNode('bench/targets/feathers-app.ts', {
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: database.postgresUrl ?? `sqlite:${database.sqliteFile}`
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await child.stop()
    await database.drop()
  }
  try {
    await waitForHttp(url, 60_000, child.exited)
  } catch (error) {
    await stop()
    throw new Error(`feathers-${backend} did not start: ${(error as Error).message}\n${child.output()}`)
  }
  const http = new HttpClient(url)
  return {
    kind: 'feathers',
    name: `feathers-${backend}`,
    backend,
    database,
    pid: child.pid,
    cpuSeconds: child.cpuSeconds,
    url,
    http,
    seedItems: (count, data) => seedItems(database, count, data),
    async stop() {
      http.close()
      await stop()
    }
  }
}

/** Inserts rows into the app's `items` table directly (fast seeding); returns the first new id. */
async function seedItems(database: BenchDatabase, count: number, data: (index: number) => unknown): Promise<number> {
  const at = new Date().toISOString()
  if (database.backend === 'sqlite') {
    const db = new Database(database.sqliteFile!)
    try {
      const insert = db.prepare('INSERT INTO items (data, version, updated_at) VALUES (?, 1, ?)')
      return db.transaction(() => {
        let first = 0
        for (let index = 0; index < count; index++) {
          const id = Number(insert.run(JSON.stringify(data(index)), at).lastInsertRowid)
          if (index === 0) first = id
        }
        return first
      })()
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: database.postgresUrl })
  await client.connect()
  try {
    const result = await client.query<{ first: number }>(
      `WITH inserted AS (
         INSERT INTO items (data, version, updated_at)
         SELECT $1::jsonb->>i, 1, $2 FROM generate_series(0, $3 - 1) AS i ORDER BY i
         RETURNING id
       )
       SELECT min(id) AS first FROM inserted`,
      [JSON.stringify(Array.from({ length: count }, (_, index) => JSON.stringify(data(index)))), at, count]
    )
    const first = Number(result.rows[0].first)
    return first
  } finally {
    await client.end()
  }
}
