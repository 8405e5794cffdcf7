import type { AddressInfo } from 'node:net'
import { createApp, type AppOptions, type Overrides } from '../../src/app.js'
import { listen } from '../../src/listen.js'
import type { Application } from '../../src/declarations.js'
import type { Storage } from '../../src/storage/types.js'
import type { TestBackend, TestDatabase } from './backends.js'

export interface TestServer {
  app: Application
  url: string
  storage: Storage
  /** Where its data is: for tests that change it behind the server's back (./behind-the-server.ts). */
  backend: TestBackend
  database: TestDatabase
  close(): Promise<void>
}

/** A Roost server listening on a free port of 127.0.0.1, on a fresh database of `backend` (with its storage speed-ups or not, as it says). */
export async function startServer(backend: TestBackend, overrides: Overrides = {}, options: AppOptions = {}): Promise<TestServer> {
  const database = await backend.create()
  const app = createApp({
    databaseUrl: database.databaseUrl,
    dataDir: database.dataDir,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    // A backend variant on the plain path (backends.ts, plain()).
    ...(backend.shortcuts === undefined ? {} : { storageShortcuts: backend.shortcuts }),
    ...overrides
  }, options)
  const server = await listen(app, 0, '127.0.0.1')
  const { port } = server.address() as AddressInfo
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    storage: app.get('storage'),
    backend,
    database,
    async close() {
      server.closeAllConnections()
      await app.teardown()
      await database.cleanup()
    }
  }
}

/** A clock that stands still until a test moves it: for anything with a time-to-live. */
export class TestClock {
  private time = Date.now()

  readonly now = (): Date => new Date(this.time)

  advance(seconds: number): void {
    this.time += seconds * 1000
  }
}
