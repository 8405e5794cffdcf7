import path from 'node:path'
import knex, { type Knex } from 'knex'
import { MongoClient } from 'mongodb'
import type { TestServer } from './server.js'

/**
 * A server's database read and changed straight, never through the storage
 * port: for tests of what the server remembers (verified tokens) when the
 * data changes under it, and of what it stored that the port does not list.
 * One small piece per database; the MongoDB ones follow the MongoDB
 * backend's documents (src/storage/mongodb/documents.ts: `_id` where SQL has
 * a one-column key, fields named as in the port).
 */

export async function deleteUserBehindTheServer(server: TestServer, id: string): Promise<void> {
  await changeUser(server, { sql: (users) => users.where({ id }).del(), mongo: (users) => users.deleteOne({ _id: id }) })
}

export async function setEmailBehindTheServer(server: TestServer, id: string, email: string): Promise<void> {
  await changeUser(server, {
    sql: (users) => users.where({ id }).update({ email }),
    mongo: (users) => users.updateOne({ _id: id }, { $set: { email } })
  })
}

/** Replaces the stored JSON text of a record's data, as it is, without going through the server. */
export async function setRecordDataTextBehindTheServer(server: TestServer, collectionId: string, id: string, text: string): Promise<void> {
  const { backend, database } = server
  if (backend.name === 'mongodb') {
    const client = new MongoClient(database.databaseUrl)
    try {
      await client.db().collection('records').updateOne({ collectionId, id }, { $set: { data: text } })
    } finally {
      await client.close()
    }
    return
  }
  const db = sqlDatabase(server)
  try {
    await db('records').where({ collection_id: collectionId, id }).update({ data: text })
  } finally {
    await db.destroy()
  }
}

/** A user's batches as stored (batches cannot be listed through the API), ordered by id. */
export async function storedBatchesBehindTheServer(
  server: TestServer,
  userId: string
): Promise<Array<{ id: string; status: string; operationCount: number; bytes: number; expiresAt: string }>> {
  const { backend, database } = server
  if (backend.name === 'mongodb') {
    const client = new MongoClient(database.databaseUrl)
    try {
      const documents = await client
        .db()
        .collection<{ _id: string; userId: string; status: string; operationCount: number; bytes: number; expiresAt: string }>('batches')
        .find({ userId })
        .sort({ _id: 1 })
        .toArray()
      return documents.map(({ _id, status, operationCount, bytes, expiresAt }) => ({ id: _id, status, operationCount, bytes, expiresAt }))
    } finally {
      await client.close()
    }
  }
  const db = sqlDatabase(server)
  try {
    const rows = await db('batches').where({ user_id: userId }).orderBy('id').select('id', 'status', 'operation_count', 'bytes', 'expires_at')
    return rows.map((row) => ({ id: row.id, status: row.status, operationCount: Number(row.operation_count), bytes: Number(row.bytes), expiresAt: String(row.expires_at) }))
  } finally {
    await db.destroy()
  }
}

/** A connection of its own to the server's SQLite file or PostgreSQL database. */
const sqlDatabase = ({ backend, database }: TestServer): Knex =>
  backend.name === 'sqlite'
    ? knex({ client: 'better-sqlite3', connection: { filename: path.join(database.dataDir, 'roost.sqlite') }, useNullAsDefault: true })
    : knex({ client: 'pg', connection: database.databaseUrl })

interface UserChange {
  sql(users: Knex.QueryBuilder): Promise<unknown>
  mongo(users: import('mongodb').Collection<{ _id: string }>): Promise<unknown>
}

async function changeUser(server: TestServer, change: UserChange): Promise<void> {
  const { backend, database } = server
  if (backend.name === 'mongodb') {
    const client = new MongoClient(database.databaseUrl)
    try {
      await change.mongo(client.db().collection<{ _id: string }>('users'))
    } finally {
      await client.close()
    }
    return
  }
  const db = sqlDatabase(server)
  try {
    await change.sql(db('users'))
  } finally {
    await db.destroy()
  }
}
