import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * Moves SQLite's WAL checkpoints off the request path. By default the
 * connection that commits the 1000th page of the log copies the whole log
 * back into the database file and syncs both, inside somebody's request: a
 * latency spike every few hundred writes, and on the one event loop of the
 * server. As SQLite's WAL documentation suggests, Roost turns that down on its
 * connection (connection.ts: autocheckpoint at 10,000 pages, a safety net)
 * and a worker thread with its own connection runs PASSIVE checkpoints, which
 * never block the writer, every `intervalMs`.
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
