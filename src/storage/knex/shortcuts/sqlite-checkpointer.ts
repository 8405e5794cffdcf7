import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * Shortcut (SQLite): WAL checkpoints moved off the request path.
 *
 * Saves: a latency spike every few hundred writes. By default the connection
 * that commits the 1000th page of the log copies the whole log back into the
 * database file and syncs both, inside somebody's request, on the server's
 * one event loop (BENCHMARKS.md, "Where Roost's time goes": found in a
 * profile). As SQLite's WAL documentation suggests, the connection's own
 * checkpoints are turned down (deferCheckpoints, at connection time: a
 * safety net at 10,000 pages) and a worker thread with its own connection
 * runs PASSIVE checkpoints, which never block the writer, every `intervalMs`.
 *
 * Without it (shortcuts off) SQLite checkpoints as it does by default, which
 * is just as correct: a checkpoint changes where committed pages live, never
 * what a reader sees.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker

  constructor(filename: string, intervalMs = 500) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { filename, driver, intervalMs } })
    // A failing checkpoint only lets the log grow up to the connection's own autocheckpoint.
    this.worker.on('error', () => undefined)
    this.worker.unref()
  }

  async stop(): Promise<void> {
    await this.worker.terminate()
  }
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.filename)
db.pragma('busy_timeout = 1000')
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)') } catch {}
}, workerData.intervalMs)
`

interface Pragmas {
  pragma(sql: string): unknown
}

/** On the server's connection, when the checkpointer runs: its own checkpoints only as a safety net. */
export function deferCheckpoints(connection: Pragmas): void {
  connection.pragma('wal_autocheckpoint = 10000')
  // The log file shrinks back to 64 MiB when it restarts.
  connection.pragma('journal_size_limit = 67108864')
}
