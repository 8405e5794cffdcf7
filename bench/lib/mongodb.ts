import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { onCleanup } from './children.js'
import type { BenchDatabase } from './databases.js'

/**
 * The MongoDB targets' server: BENCH_MONGODB_URL, a replica set (Roost runs
 * every write in a multi-document transaction, which a standalone server
 * refuses). Nothing here starts a server: without the variable the MongoDB
 * targets are skipped. Each target gets a database of its own on that server,
 * `roost_bench_<random>` (the URL's own database name is not used), dropped
 * when the benchmark ends.
 */
export const MONGODB_URL = process.env.BENCH_MONGODB_URL

const EXAMPLE = 'mongodb://localhost:27017/?replicaSet=rs0'

/** A client that gives up within seconds when the server is not there. */
const connect = (url: string) => new MongoClient(url, { serverSelectionTimeoutMS: 5000 }).connect()

/** Why the MongoDB targets cannot run, or undefined if they can. */
export async function mongodbProblem(): Promise<string | undefined> {
  if (!MONGODB_URL) return `BENCH_MONGODB_URL is not set (a replica set, e.g. ${EXAMPLE})`
  let client: MongoClient | undefined
  try {
    client = await connect(MONGODB_URL)
    const hello = await client.db('admin').command({ hello: 1 })
    // Transactions exist on a replica set (setName) or behind mongos (msg 'isdbgrid'), as Roost checks at start.
    if (typeof hello.setName !== 'string' && hello.msg !== 'isdbgrid') return `MongoDB at BENCH_MONGODB_URL is a standalone server; Roost needs a replica set (${EXAMPLE})`
    return undefined
  } catch (error) {
    return `MongoDB at BENCH_MONGODB_URL is not reachable (${error instanceof Error ? error.message : String(error)})`
  } finally {
    await client?.close()
  }
}

/**
 * The URL with its database name (the path) replaced by `name`; hosts,
 * credentials and options are kept. Credentials are checked against the
 * path's database unless `authSource` says otherwise, so the old one (or
 * `admin`, the driver's default) is kept as `authSource`.
 */
export function withDatabase(url: string, name: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(url)
  if (!match) throw new Error(`BENCH_MONGODB_URL is not a mongodb:// or mongodb+srv:// URL: ${url}`)
  const [, scheme, authority, path, query] = match
  const options = new URLSearchParams(query ?? '')
  if (authority.includes('@') && !options.has('authSource')) options.set('authSource', decodeURIComponent(path ?? '') || 'admin')
  const search = options.toString()
  return `${scheme}${authority}/${name}${search ? `?${search}` : ''}`
}

/** A new database on BENCH_MONGODB_URL's server (MongoDB creates it on first write); `dir` is the target's folder. */
export function createMongoDatabase(dir: string, removeDir: () => void): BenchDatabase {
  if (!MONGODB_URL) throw new Error('BENCH_MONGODB_URL is not set')
  const name = `roost_bench_${randomBytes(6).toString('hex')}`
  const url = withDatabase(MONGODB_URL, name)
  const dropDatabase = async () => {
    let client: MongoClient | undefined
    try {
      client = await connect(url)
      await client.db(name).dropDatabase()
    } finally {
      await client?.close()
      removeDir()
    }
  }
  const unregister = onCleanup(dropDatabase)
  return {
    backend: 'mongodb',
    dir,
    url,
    mongodbUrl: url,
    // Nothing to do: the server may be remote, and WiredTiger has no VACUUM or planner statistics to refresh.
    async analyze() {},
    async settle() {},
    async drop() {
      unregister()
      await dropDatabase()
    }
  }
}
