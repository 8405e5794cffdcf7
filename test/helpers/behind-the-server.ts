import path from 'node:path'
import knex, { type Knex } from 'knex'
import { MongoClient } from 'mongodb'
import type { TestServer } from './server.js'

/**
 * Changes to a user made straight in a server's database, as an operator
 * would, never through the storage port: for tests of what the server
 * remembers (verified tokens) when the data changes under it. One small
 * piece per database; the MongoDB one assumes users are documents of
 * `users` keyed by `_id` (the MongoDB backend's mapping).
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
  const db =
    backend.name === 'sqlite'
      ? knex({ client: 'better-sqlite3', connection: { filename: path.join(database.dataDir, 'roost.sqlite') }, useNullAsDefault: true })
      : knex({ client: 'pg', connection: database.databaseUrl })
  try {
    await change.sql(db('users'))
  } finally {
    await db.destroy()
  }
}
