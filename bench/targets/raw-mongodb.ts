import { MongoClient } from 'mongodb'
import { Positions } from './positions.js'
import type { RawDb, RawRecord } from './raw-db.js'

/**
 * raw-mongodb: the raw target's operations straight on the official driver,
 * on a `records` collection laid out like Roost's (src/storage/mongodb: the
 * same fields, data kept as JSON text, the key (collectionId, id) and the
 * position (collectionId, seq) as unique indexes), with the driver's defaults
 * (the server's default write concern). Like the SQL raw targets, this
 * process is the only writer, so positions are counted here.
 */
interface RecordDocument {
  collectionId: string
  id: string
  version: number
  data: string
  deleted: boolean
  updatedAt: string
  seq: number
}

export async function openMongodb(url: string): Promise<RawDb> {
  // As many connections as W1 has concurrent clients, like the pg pool.
  const client = await new MongoClient(url, { maxPoolSize: 16 }).connect()
  const records = client.db().collection<RecordDocument>('records')
  try {
    await records.createIndex({ collectionId: 1, id: 1 }, { unique: true })
    await records.createIndex({ collectionId: 1, seq: 1 }, { unique: true })
  } catch (error) {
    await client.close()
    throw error
  }
  const positions = new Positions()
  return {
    async insert(collectionId, list) {
      const first = positions.take(collectionId, list.length)
      const updatedAt = new Date().toISOString()
      const documents = list.map((record, index) => ({
        collectionId,
        id: record.id,
        version: 1,
        data: JSON.stringify(record.data),
        deleted: false,
        updatedAt,
        seq: first + index
      }))
      // All or nothing, as the SQL raw targets' one transaction (and Roost's).
      const session = client.startSession()
      try {
        await session.withTransaction(async () => {
          await records.insertMany(documents, { session })
        })
      } finally {
        await session.endSession()
      }
    },
    async update(collectionId, id, baseVersion, data) {
      // The compare-and-set: one document, atomic without a transaction, as the SQL targets' one UPDATE.
      const result = await records.updateOne(
        { collectionId, id, version: baseVersion },
        { $set: { data: JSON.stringify(data), seq: positions.take(collectionId, 1), updatedAt: new Date().toISOString() }, $inc: { version: 1 } }
      )
      return result.matchedCount === 1
    },
    async changesSince(collectionId, since, limit): Promise<RawRecord[]> {
      const found = await records.find({ collectionId, seq: { $gt: since } }).sort({ seq: 1 }).limit(limit).toArray()
      return found.map((document) => ({ id: document.id, version: document.version, data: JSON.parse(document.data), seq: document.seq }))
    },
    async close() {
      await client.close()
    }
  }
}
