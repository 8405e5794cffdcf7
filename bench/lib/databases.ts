import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { onCleanup } from './children.js'
import { createMongoDatabase } from './mongodb.js'

/**
 * A fresh database per target: SQLite in a new temporary folder, a new
 * PostgreSQL database `roost_bench_<random>` on the local server (or on
 * BENCH_POSTGRES_URL / TEST_POSTGRES_URL), or a new MongoDB database of that
 * name on BENCH_MONGODB_URL (lib/mongodb.ts), dropped when the benchmark ends.
 */
export type Backend = 'sqlite' | 'postgres' | 'mongodb'

export interface BenchDatabase {
  backend: Backend
  /** A folder of its own (the SQLite file lives in it; Roost also keeps its data folder here). */
  dir: string
  /** What a server is given as DATABASE_URL. */
  url: string
  /** SQLite: the file; otherwise undefined. */
  sqliteFile?: string
  /** PostgreSQL: the connection URL; otherwise undefined. */
  postgresUrl?: string
  /** MongoDB: the connection URL, naming this database; otherwise undefined. */
  mongodbUrl?: string
  /** PostgreSQL backends connected to this database (their CPU is the database's share of the work). */
  backendPids?: () => Promise<number[]>
  /**
   * PostgreSQL: refreshes the planner's statistics, as autovacuum does within
   * a minute or so of a bulk load on a running server (seeding then reading at
   * once would otherwise measure plans made for an empty table). SQLite: nothing.
   */
  analyze(): Promise<void>
  /**
   * PostgreSQL: a VACUUM before each timed run (of any target), doing now
   * what autovacuum would do during the next run after a run that changed many
   * rows; quietPostgres() then checkpoints. SQLite: nothing (its log is
   * checkpointed as it goes).
   */
  settle(): Promise<void>
  drop(): Promise<void>
}

export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * A CHECKPOINT, so that a run is not charged for writing out what earlier ones
 * (or the seeding) left dirty, then a wait (at most 10 s) until no autovacuum
 * worker runs.
 */
export async function quietPostgres(): Promise<void> {
  await adminQuery('CHECKPOINT')
  for (let waited = 0; waited < 10_000; waited += 100) {
    const [{ workers }] = await adminQuery<{ workers: number }>(
      "SELECT count(*)::int AS workers FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
    )
    if (workers === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Why PostgreSQL cannot be used, or undefined if it can. */
export async function postgresProblem(): Promise<string | undefined> {
  return adminQuery('SELECT 1').then(
    () => undefined,
    (error: Error) => `PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} is not reachable (${error.message})`
  )
}

export async function createDatabase(backend: Backend): Promise<BenchDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-bench-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  if (backend === 'mongodb') return createMongoDatabase(dir, removeDir)
  if (backend === 'sqlite') {
    const unregister = onCleanup(removeDir)
    const sqliteFile = path.join(dir, 'bench.sqlite')
    return {
      backend,
      dir,
      url: `sqlite:${sqliteFile}`,
      sqliteFile,
      async analyze() {},
      async settle() {},
      async drop() {
        unregister()
        removeDir()
      }
    }
  }
  const name = `roost_bench_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  const dropDatabase = async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    removeDir()
  }
  const unregister = onCleanup(dropDatabase)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  return {
    backend,
    dir,
    url: url.toString(),
    postgresUrl: url.toString(),
    async analyze() {
      await query('ANALYZE')
    },
    async settle() {
      await query('VACUUM')
    },
    backendPids: async () =>
      (await adminQuery<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name])).map((row) => row.pid),
    async drop() {
      unregister()
      await dropDatabase()
    }
  }
}
