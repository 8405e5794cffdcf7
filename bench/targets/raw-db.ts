import Database from 'better-sqlite3'
import pg from 'pg'
import type { BenchDatabase } from '../lib/databases.js'
import { Positions } from './positions.js'
import { openMongodb } from './raw-mongodb.js'

/**
 * The raw targets: the same logical operations as Roost's, straight on
 * better-sqlite3 or pg with no HTTP, no Feathers and no knex, on a table laid
 * out like Roost's `records` (same columns, primary key and unique
 * (collection_id, seq) index; SQLite with the same pragmas); MongoDB's in
 * raw-mongodb.ts. This is the floor: what the database itself costs.
 */
export interface RawRecord {
  id: string
  version: number
  data: unknown
  seq: number
}

export interface RawDb {
  /** Inserts the records, in one transaction, at the collection's next positions. */
  insert(collectionId: string, records: Array<{ id: string; data: unknown }>): Promise<void>
  /** Compare-and-set: writes only if the record is still at `baseVersion`; false if it was not. */
  update(collectionId: string, id: string, baseVersion: number, data: unknown): Promise<boolean>
  /** Up to `limit` records changed after position `since`, in position order. */
  changesSince(collectionId: string, since: number, limit: number): Promise<RawRecord[]>
  close(): Promise<void>
}

const CREATE_TABLE = (varchar: (length: number) => string) => `
  CREATE TABLE records (
    collection_id ${varchar(128)} NOT NULL,
    id ${varchar(128)} NOT NULL,
    version integer NOT NULL,
    data text,
    deleted boolean NOT NULL DEFAULT false,
    updated_at varchar(32) NOT NULL,
    updated_by varchar(36),
    seq bigint NOT NULL,
    PRIMARY KEY (collection_id, id),
    UNIQUE (collection_id, seq)
  )`

export async function openRawDb(database: BenchDatabase): Promise<RawDb> {
  switch (database.backend) {
    case 'sqlite':
      return openSqlite(database.sqliteFile!)
    case 'postgres':
      return openPostgres(database.postgresUrl!)
    case 'mongodb':
      return openMongodb(database.mongodbUrl!)
  }
}

function openSqlite(file: string): RawDb {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.exec(CREATE_TABLE((length) => `varchar(${length})`))
  const positions = new Positions()
  const insertOne = db.prepare(
    'INSERT INTO records (collection_id, id, version, data, deleted, updated_at, seq) VALUES (?, ?, 1, ?, 0, ?, ?)'
  )
  const insertAll = db.transaction((collectionId: string, records: Array<{ id: string; data: unknown }>, first: number, at: string) => {
    records.forEach((record, index) => insertOne.run(collectionId, record.id, JSON.stringify(record.data), at, first + index))
  })
  const update = db.prepare(
    'UPDATE records SET data = ?, version = version + 1, seq = ?, updated_at = ? WHERE collection_id = ? AND id = ? AND version = ?'
  )
  const changes = db.prepare('SELECT * FROM records WHERE collection_id = ? AND seq > ? ORDER BY seq LIMIT ?')
  return {
    async insert(collectionId, records) {
      insertAll(collectionId, records, positions.take(collectionId, records.length), new Date().toISOString())
    },
    async update(collectionId, id, baseVersion, data) {
      const seq = positions.take(collectionId, 1)
      return update.run(JSON.stringify(data), seq, new Date().toISOString(), collectionId, id, baseVersion).changes === 1
    },
    async changesSince(collectionId, since, limit) {
      return (changes.all(collectionId, since, limit) as Array<{ id: string; version: number; data: string; seq: number }>).map(
        (row) => ({ id: row.id, version: row.version, data: JSON.parse(row.data), seq: row.seq })
      )
    },
    async close() {
      db.close()
    }
  }
}

async function openPostgres(url: string): Promise<RawDb> {
  // As many connections as W1 has concurrent clients.
  const pool = new pg.Pool({ connectionString: url, max: 16 })
  // An idle connection that breaks (the database dropped at the end) is not an error of the workload.
  pool.on('error', () => {})
  await pool.query(CREATE_TABLE((length) => `varchar(${length}) COLLATE "C"`))
  const positions = new Positions()
  return {
    async insert(collectionId, records) {
      const first = positions.take(collectionId, records.length)
      const at = new Date().toISOString()
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        // One multi-row INSERT per 1,000 records (5 parameters each).
        for (let start = 0; start < records.length; start += 1000) {
          const chunk = records.slice(start, start + 1000)
          const values: unknown[] = []
          const rows = chunk.map((record, index) => {
            values.push(collectionId, record.id, JSON.stringify(record.data), at, first + start + index)
            const p = index * 5
            return `($${p + 1}, $${p + 2}, 1, $${p + 3}, false, $${p + 4}, $${p + 5})`
          })
          await client.query(
            `INSERT INTO records (collection_id, id, version, data, deleted, updated_at, seq) VALUES ${rows.join(', ')}`,
            values
          )
        }
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        throw error
      } finally {
        client.release()
      }
    },
    async update(collectionId, id, baseVersion, data) {
      const seq = positions.take(collectionId, 1)
      const result = await pool.query(
        'UPDATE records SET data = $1, version = version + 1, seq = $2, updated_at = $3 WHERE collection_id = $4 AND id = $5 AND version = $6',
        [JSON.stringify(data), seq, new Date().toISOString(), collectionId, id, baseVersion]
      )
      return result.rowCount === 1
    },
    async changesSince(collectionId, since, limit) {
      const result = await pool.query<{ id: string; version: number; data: string; seq: string }>(
        'SELECT * FROM records WHERE collection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [collectionId, since, limit]
      )
      return result.rows.map((row) => ({ id: row.id, version: row.version, data: JSON.parse(row.data), seq: Number(row.seq) }))
    },
    async close() {
      await pool.end()
    }
  }
}
