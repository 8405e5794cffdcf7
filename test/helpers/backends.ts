import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { describe, it } from 'vitest'

/**
 * The databases every behavioural test runs against: SQLite (a file in a
 * fresh temporary folder) and PostgreSQL (a fresh database on the local
 * server, or TEST_POSTGRES_URL, dropped afterwards). Without PostgreSQL the
 * PostgreSQL half is skipped with a printed reason, except under CI=true,
 * where it fails.
 */
export interface TestDatabase {
  databaseUrl: string
  dataDir: string
  cleanup(): Promise<void>
}

export interface TestBackend {
  name: 'sqlite' | 'postgres'
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

const postgres: TestBackend = {
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

/** Runs the same suite once per backend, titled "<title> [sqlite]" and "<title> [postgres]". */
export function describeBackends(title: string, suite: (backend: TestBackend) => void): void {
  describe(`${title} [sqlite]`, () => suite(sqlite))
  describePostgres(title, suite)
}

/**
 * The PostgreSQL half alone, titled "<title> [postgres]" (for what only the
 * PostgreSQL backend has): skipped with a printed reason without PostgreSQL,
 * failed instead under CI=true.
 */
export function describePostgres(title: string, suite: (backend: TestBackend) => void): void {
  if (postgresProblem === undefined) {
    describe(`${title} [postgres]`, () => suite(postgres))
  } else if (process.env.CI === 'true') {
    describe(`${title} [postgres]`, () => {
      it('needs PostgreSQL under CI', () => {
        throw new Error(`${postgresProblem}; CI=true requires it (set TEST_POSTGRES_URL)`)
      })
    })
  } else {
    console.warn(`SKIPPED "${title} [postgres]": ${postgresProblem}. Set TEST_POSTGRES_URL to run it.`)
    describe.skip(`${title} [postgres] (skipped: ${postgresProblem})`, () => suite(postgres))
  }
}
