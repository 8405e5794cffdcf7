import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { describe, it } from 'vitest'
import { mongoServerProblem, startMongo } from './mongodb.js'

/**
 * The databases every behavioural test runs against: SQLite (a file in a
 * fresh temporary folder), PostgreSQL (a fresh database on the local
 * server, or TEST_POSTGRES_URL, dropped afterwards) and MongoDB (a fresh
 * database on the server ./mongodb.ts finds, dropped afterwards). Without
 * PostgreSQL the PostgreSQL part is skipped with a printed reason, except
 * under CI=true, where it fails. Without a MongoDB server the MongoDB part is
 * skipped with one printed line, under CI=true too: none can exist on the
 * machines CI runs on.
 */
export interface TestDatabase {
  databaseUrl: string
  dataDir: string
  cleanup(): Promise<void>
}

export interface TestBackend {
  name: 'sqlite' | 'postgres' | 'mongodb'
  /**
   * false: servers started on it (startServer) take the storage's plain
   * path, without the speed-ups (config storageShortcuts); undefined: the
   * default, with them.
   */
  shortcuts?: boolean
  create(): Promise<TestDatabase>
}

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'roost-test-'))

export const sqlite: TestBackend = {
  name: 'sqlite',
  async create() {
    const dataDir = tempDir()
    return {
      databaseUrl: '',
      dataDir,
      async cleanup() {
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export const postgres: TestBackend = {
  name: 'postgres',
  async create() {
    const name = `roost_test_${randomBytes(6).toString('hex')}`
    await adminQuery(`CREATE DATABASE ${name}`)
    const url = new URL(ADMIN_URL)
    url.pathname = `/${name}`
    const dataDir = tempDir()
    return {
      databaseUrl: url.toString(),
      dataDir,
      async cleanup() {
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }
}

/** Why PostgreSQL cannot be used here, or undefined if it can. */
const postgresProblem: string | undefined = await adminQuery('SELECT 1').then(
  () => undefined,
  (error: Error) => `PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} is not reachable (${error.message})`
)

/** A fresh database on the MongoDB server test/helpers/mongodb.ts finds, dropped by its cleanup. */
export const mongodb: TestBackend = {
  name: 'mongodb',
  async create() {
    const database = await startMongo()
    const dataDir = tempDir()
    return {
      databaseUrl: database.url,
      dataDir,
      async cleanup() {
        await database.stop()
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }
}

/** Why MongoDB cannot be used here, or undefined if it can. */
const mongoProblem: string | undefined = mongoServerProblem()
let mongoSkipPrinted = false

/** "<title> [postgres]", "<title> [sqlite, no shortcuts]"… */
const titled = (title: string, backend: TestBackend): string =>
  `${title} [${backend.name}${backend.shortcuts === false ? ', no shortcuts' : ''}]`

/** The same backend with servers on the plain path (no speed-ups). */
export const plain = (backend: TestBackend): TestBackend => ({ ...backend, shortcuts: false })

export interface DescribeBackendsOptions {
  /**
   * Also run the suite once more on each SQL backend with servers on the
   * plain path (storageShortcuts: false), titled "[sqlite, no shortcuts]"…:
   * for the service tests whose behaviour the speed-ups touch.
   */
  plainPath?: boolean
}

/**
 * Runs the same suite once per backend, titled "<title> [sqlite]",
 * "<title> [postgres]" and "<title> [mongodb]" (each skipped as the header
 * says when its database is missing).
 */
export function describeBackends(title: string, suite: (backend: TestBackend) => void, options: DescribeBackendsOptions = {}): void {
  const backends = [sqlite, postgres, mongodb]
  if (options.plainPath === true) backends.push(plain(sqlite), plain(postgres))
  for (const backend of backends) describeOn(backend, title, suite)
}

/**
 * SQLite and PostgreSQL only, for what exists only there (SQL migrations,
 * knex internals): titled as describeBackends does.
 */
export function describeSqlBackends(title: string, suite: (backend: TestBackend) => void): void {
  for (const backend of [sqlite, postgres]) describeOn(backend, title, suite)
}

/**
 * One backend's part, titled "<title> [<backend>]": run when its database is
 * there, otherwise skipped (PostgreSQL: failed under CI=true) with a printed
 * reason.
 */
export function describeOn(backend: TestBackend, title: string, suite: (backend: TestBackend) => void): void {
  if (backend.name === 'sqlite') describe(titled(title, backend), () => suite(backend))
  else if (backend.name === 'postgres') describePostgresOn(backend, title, suite)
  else describeMongoOn(backend, title, suite)
}

function describeMongoOn(backend: TestBackend, title: string, suite: (backend: TestBackend) => void): void {
  if (mongoProblem === undefined) {
    describe(titled(title, backend), () => suite(backend))
    return
  }
  // One line per test file, not one per describe: the reason is the same for all.
  if (!mongoSkipPrinted) console.warn(`SKIPPED the MongoDB tests: ${mongoProblem}.`)
  mongoSkipPrinted = true
  describe.skip(`${titled(title, backend)} (skipped: ${mongoProblem})`, () => suite(backend))
}

/**
 * The PostgreSQL half alone, titled "<title> [postgres]" (for what only the
 * PostgreSQL backend has): skipped with a printed reason without PostgreSQL,
 * failed instead under CI=true.
 */
export function describePostgres(title: string, suite: (backend: TestBackend) => void): void {
  describePostgresOn(postgres, title, suite)
}

function describePostgresOn(backend: TestBackend, title: string, suite: (backend: TestBackend) => void): void {
  if (postgresProblem === undefined) {
    describe(titled(title, backend), () => suite(backend))
  } else if (process.env.CI === 'true') {
    describe(titled(title, backend), () => {
      it('needs PostgreSQL under CI', () => {
        throw new Error(`${postgresProblem}; CI=true requires it (set TEST_POSTGRES_URL)`)
      })
    })
  } else {
    console.warn(`SKIPPED "${titled(title, backend)}": ${postgresProblem}. Set TEST_POSTGRES_URL to run it.`)
    describe.skip(`${titled(title, backend)} (skipped: ${postgresProblem})`, () => suite(backend))
  }
}
