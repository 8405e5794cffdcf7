import { execFile } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** Debian's PostgreSQL binaries (the postgresql-15 package), or PG_BIN. */
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'
/** The OS user the clusters run as: PostgreSQL refuses to run as root. */
const OS_USER = 'postgres'

/**
 * A primary PostgreSQL cluster of the test's own and a hot standby streaming
 * from it, each in its own temporary folder and on its own free port, both
 * run as the `postgres` OS user with Debian's binaries. The machine's own
 * server (5432) and its configuration are never touched: its pg_hba.conf has
 * no `replication` line, and a test must not edit the system.
 */
export interface StandbyPair {
  /** postgres://postgres@127.0.0.1:<port>/postgres of the primary (trust: no password). */
  primaryUrl: string
  /** The same database on the standby (read-only). */
  standbyUrl: string
  /**
   * What each server has logged so far (server.log in its folder): every
   * statement, each line led by the session's application_name (`%a`), so a
   * test sees which server ran what, for whom.
   */
  log(on: 'primary' | 'standby'): string
  /** Runs SQL on the primary's or the standby's `postgres` database and gives the rows. */
  query<Row = Record<string, unknown>>(on: 'primary' | 'standby', sql: string, values?: unknown[]): Promise<Row[]>
  /** Pauses (true) or resumes WAL replay on the standby: it keeps receiving, but applies nothing. */
  pauseReplay(paused: boolean): Promise<void>
  /** Stops the standby (fast); startStandby starts it again. */
  stopStandby(): Promise<void>
  startStandby(): Promise<void>
  /** Stops both (immediate) and removes their folders; safe to call twice and after a failed start. */
  stop(): Promise<void>
}

/** Why the pair cannot be started here, or undefined if it can. */
export function standbyProblem(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres']) {
    if (!existsSync(path.join(BIN, tool))) return `${path.join(BIN, tool)} is missing (Debian's postgresql-15 package; or set PG_BIN)`
  }
  if (process.getuid?.() !== 0 && process.env.USER !== OS_USER) return `the clusters are run with runuser as "${OS_USER}", which needs root`
  return undefined
}

export async function startStandbyPair(): Promise<StandbyPair> {
  const base = mkdtempSync(path.join(tmpdir(), 'roost-pg-pair-'))
  const primaryDir = path.join(base, 'primary')
  const standbyDir = path.join(base, 'standby')
  const [primaryPort, standbyPort] = [await freePort(), await freePort()]
  let standbyUp = false
  const stopCluster = async (dir: string) => {
    await asPostgres('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
  }
  // Both, whatever the flags say (a start that timed out may have left a server running); stopping a stopped one only fails, quietly.
  const stop = async () => {
    for (const dir of [standbyDir, primaryDir]) if (existsSync(path.join(dir, 'postmaster.pid'))) await stopCluster(dir)
    standbyUp = false
    rmSync(base, { recursive: true, force: true })
  }
  const startCluster = async (dir: string, port: number) => {
    // -k: the socket in the cluster's own folder, not /var/run/postgresql (the system server's).
    await asPostgres('pg_ctl', ['-D', dir, '-l', path.join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-w', '-t', '30', 'start'])
  }
  try {
    const { uid, gid } = osUser()
    chownSync(base, uid, gid)
    await asPostgres('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
    appendFileSync(
      path.join(primaryDir, 'postgresql.conf'),
      [
        'wal_level = replica',
        'max_wal_senders = 4',
        'hot_standby = on',
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 16MB',
        'max_connections = 40',
        // Copied into the standby by pg_basebackup: both log every statement with the session's application_name.
        'log_statement = all',
        "log_line_prefix = '[%a] '",
        ''
      ].join('\n')
    )
    // Replication over TCP from this machine only, without a password: the folder is the test's own.
    appendFileSync(path.join(primaryDir, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 trust\n')
    await startCluster(primaryDir, primaryPort)
    // -R: standby.signal and primary_conninfo; -X stream: the WAL written meanwhile comes along.
    await asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '--no-sync'])
    await startCluster(standbyDir, standbyPort)
    standbyUp = true
  } catch (error) {
    await stop()
    throw error
  }

  const urlOf = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`
  const query = async <Row>(on: 'primary' | 'standby', sql: string, values: unknown[] = []): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: urlOf(on === 'primary' ? primaryPort : standbyPort), connectionTimeoutMillis: 3000 })
    await client.connect()
    try {
      return (await client.query(sql, values)).rows as Row[]
    } finally {
      await client.end()
    }
  }
  return {
    primaryUrl: urlOf(primaryPort),
    standbyUrl: urlOf(standbyPort),
    query,
    async pauseReplay(paused) {
      await query('standby', paused ? 'SELECT pg_wal_replay_pause()' : 'SELECT pg_wal_replay_resume()')
    },
    async stopStandby() {
      if (!standbyUp) return
      await asPostgres('pg_ctl', ['-D', standbyDir, '-m', 'fast', '-w', 'stop'])
      standbyUp = false
    },
    async startStandby() {
      if (standbyUp) return
      await startCluster(standbyDir, standbyPort)
      standbyUp = true
    },
    stop,
    log: (on) => readFileSync(path.join(on === 'primary' ? primaryDir : standbyDir, 'server.log'), 'utf8')
  }
}

/** A binary of BIN, run as the postgres OS user (runuser when we are root). */
async function asPostgres(tool: string, args: string[]): Promise<void> {
  const binary = path.join(BIN, tool)
  const [command, commandArgs] = process.getuid?.() === 0 ? ['runuser', ['-u', OS_USER, '--', binary, ...args]] : [binary, args]
  try {
    await run(command, commandArgs, { timeout: 60_000 })
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string }
    throw new Error(`${tool} failed: ${(stderr || stdout || (error as Error).message).trim()}`)
  }
}

/** The postgres OS user's ids, for the folder it must own. */
function osUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${OS_USER}:`))
  if (line === undefined) throw new Error(`no "${OS_USER}" OS user`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/** A port nobody listens on now (the OS's choice). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
