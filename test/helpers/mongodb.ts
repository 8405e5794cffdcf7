import { existsSync } from 'node:fs'
import { MongoMemoryReplSet } from 'mongodb-memory-server-core'

/**
 * How the tests find a MongoDB server (issue 14, item 6). None can be
 * installed on this machine type, so there are exactly two ways, and never
 * a fake:
 * - TEST_MONGODB_URL: a replica set of your own (transactions need one);
 * - MONGOMS_SYSTEM_BINARY: a local `mongod`, started here as a single-node
 *   replica set (MongoMemoryReplSet), never downloaded.
 *
 * STAND-IN written by the suite helper against the agreed shape; the MongoDB
 * helper's own version of this file replaces it on merge.
 */

/** Why the MongoDB tests cannot run here, or undefined if they can. */
export function mongoServerProblem(): string | undefined {
  if (process.env.TEST_MONGODB_URL) return undefined
  const binary = process.env.MONGOMS_SYSTEM_BINARY
  if (binary) return existsSync(binary) ? undefined : `MONGOMS_SYSTEM_BINARY=${binary} does not exist`
  return 'no MongoDB server: set TEST_MONGODB_URL to a replica set, or MONGOMS_SYSTEM_BINARY to a local mongod'
}

/** A server to test against: TEST_MONGODB_URL as is, or a fresh single-node replica set of the local mongod. */
export async function startMongo(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.TEST_MONGODB_URL
  if (url) return { url, async stop() {} }
  // A missing binary is noticed at once instead of downloaded.
  process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false'
  const replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } })
  return {
    url: replSet.getUri(),
    async stop() {
      await replSet.stop()
    }
  }
}
