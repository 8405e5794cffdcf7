import Database from 'better-sqlite3'
import pg from 'pg'
import type { Backend, BenchDatabase } from '../lib/databases.js'
import { HttpClient } from '../lib/http.js'
import { serverTarget, startServerChild } from './server-child.js'
import type { FeathersTarget, TargetName } from './types.js'

/** The plain Feathers app (feathers-app.ts) in its own process on a fresh database. */
export function startFeathers(name: TargetName, backend: Backend): Promise<FeathersTarget> {
  return startServerChild({ name, script: 'bench/targets/feathers-app.ts', backend, env: () => ({}) }, async (server) => ({
    kind: 'feathers',
    name,
    ...serverTarget(server, backend, new HttpClient(server.url)),
    seedItems: (count, data) => seedItems(server.database, count, data)
  }))
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
