import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { MongoClient } from 'mongodb'
import { MongoMemoryReplSet } from 'mongodb-memory-server-core'

/**
 * How the MongoDB tests find a server. No MongoDB can be installed on the
 * machines this suite usually runs on, so it is opt-in:
 *
 * - TEST_MONGODB_URL: a replica set (or mongos) to use, e.g.
 *   mongodb://localhost:27017/?replicaSet=rs0. Given but unreachable, the
 *   tests fail: a server was asked for.
 * - MONGOMS_SYSTEM_BINARY: a local `mongod` (6.0 or newer); a single-node
 *   replica set is started with it (mongodb-memory-server-core), never
 *   downloaded (MONGOMS_RUNTIME_DOWNLOAD=false: a wrong path fails at once).
 *
 * Never a stand-in: without either, the MongoDB tests are skipped with
 * mongoServerProblem() as the printed reason.
 */

/** Why no MongoDB server can be used for the tests, or undefined if one can. */
export function mongoServerProblem(): string | undefined {
  if (process.env.TEST_MONGODB_URL !== undefined && process.env.TEST_MONGODB_URL !== '') return undefined
  const binary = process.env.MONGOMS_SYSTEM_BINARY
  if (binary !== undefined && binary !== '') {
    return existsSync(binary) ? undefined : `MONGOMS_SYSTEM_BINARY names ${binary}, which does not exist`
  }
  return 'no MongoDB server given (set TEST_MONGODB_URL to a replica set, or MONGOMS_SYSTEM_BINARY to a mongod 6.0+)'
}

/**
 * A fresh database on the test server, for one test file (or one server
 * started by a test): `url` names it; `stop()` drops it, and stops the
 * replica set this process started once no database on it is in use.
 */
export async function startMongo(): Promise<{ url: string; stop(): Promise<void> }> {
  const problem = mongoServerProblem()
  if (problem !== undefined) throw new Error(`No MongoDB for the tests: ${problem}`)
  const server = await acquireServer()
  const name = `roost_test_${randomBytes(6).toString('hex')}`
  const url = withDatabase(server.url, name)
  return {
    url,
    async stop() {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
      try {
        await client.db(name).dropDatabase()
      } finally {
        await client.close()
        await server.release()
      }
    }
  }
}

/** The URL with its database (the path) replaced by `name`; hosts and options kept. */
export function withDatabase(url: string, name: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url)
  if (match === null) throw new Error(`Not a MongoDB URL: ${url}`)
  return `${match[1]}/${name}${match[2] ?? ''}`
}

/** The replica set started with MONGOMS_SYSTEM_BINARY, shared by this process's test databases. */
let local: { replSet: Promise<MongoMemoryReplSet>; users: number } | undefined

async function acquireServer(): Promise<{ url: string; release(): Promise<void> }> {
  const given = process.env.TEST_MONGODB_URL
  if (given !== undefined && given !== '') return { url: given, release: async () => {} }

  process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false'
  local ??= {
    replSet: MongoMemoryReplSet.create({
      binary: { systemBinary: process.env.MONGOMS_SYSTEM_BINARY },
      replSet: { count: 1, storageEngine: 'wiredTiger' }
    }),
    users: 0
  }
  const started = local
  started.users++
  let replSet: MongoMemoryReplSet
  try {
    replSet = await started.replSet
  } catch (error) {
    if (local === started) local = undefined
    throw error
  }
  return {
    url: replSet.getUri(),
    async release() {
      if (--started.users > 0) return
      if (local === started) local = undefined
      await replSet.stop()
    }
  }
}
