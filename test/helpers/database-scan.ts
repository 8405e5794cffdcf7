import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import knex from 'knex'
import { MongoClient } from 'mongodb'
import type { TestServer } from './server.js'

/**
 * Which of `needles` appear anywhere in a server's database, read behind
 * its back: every byte of the SQLite files (main file, WAL and all), every
 * row of every PostgreSQL table as text, every MongoDB document as JSON.
 * For "the server stores only ciphertext".
 */
export async function findInDatabase(server: TestServer, needles: string[]): Promise<string[]> {
  const haystacks = await dumpDatabase(server)
  return needles.filter((needle) => haystacks.some((text) => text.includes(needle)))
}

async function dumpDatabase(server: TestServer): Promise<string[]> {
  const { backend, database } = server
  if (backend.name === 'sqlite') return filesUnder(database.dataDir).map((file) => readFileSync(file).toString('latin1'))
  if (backend.name === 'mongodb') {
    const client = new MongoClient(database.databaseUrl)
    try {
      const db = client.db()
      const texts: string[] = []
      for (const { name } of await db.listCollections().toArray()) {
        for (const document of await db.collection(name).find().toArray()) texts.push(JSON.stringify(document))
      }
      return texts
    } finally {
      await client.close()
    }
  }
  const db = knex({ client: 'pg', connection: database.databaseUrl })
  try {
    const tables = (await db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows as Array<{ tablename: string }>
    const texts: string[] = []
    for (const { tablename } of tables) {
      const rows = (await db.raw(`SELECT t::text AS row FROM ?? t`, [tablename])).rows as Array<{ row: string }>
      texts.push(...rows.map((row) => row.row))
    }
    return texts
  } finally {
    await db.destroy()
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name)
    return statSync(file).isDirectory() ? filesUnder(file) : [file]
  })
}
