import { spawnNode, type NodeChild } from '../lib/children.js'
import { createDatabase, type Backend, type BenchDatabase } from '../lib/databases.js'
import { waitForHttp, type HttpClient } from '../lib/http.js'
import { freePort } from '../lib/ports.js'

export interface ServerChild {
  database: BenchDatabase
  child: NodeChild
  url: string
  /** Stops the process, then drops its database. */
  stop(): Promise<void>
}

export interface ServerSpec {
  name: string
  /** The script, relative to `cwd`. */
  script: string
  /** The checkout it runs from, as its working directory (its config/ and migrations/); by default this one. */
  cwd?: string
  backend: Backend
  /** Environment besides NODE_ENV, PORT and DATABASE_URL. */
  env: (database: BenchDatabase, port: number) => Record<string, string>
}

/**
 * A server script in its own process on a fresh database, once it answers
 * HTTP; then `ready` (signing in, say). If the server does not start or
 * `ready` fails, it is stopped and the error names it and says what it printed.
 */
export async function startServerChild<T>(spec: ServerSpec, ready: (server: ServerChild) => Promise<T>): Promise<T> {
  const database = await createDatabase(spec.backend)
  const failed = (error: unknown) => new Error(`${spec.name} did not start: ${(error as Error).message}`)
  let launched: { child: NodeChild; url: string }
  try {
    launched = await launchServer(spec, database)
  } catch (error) {
    await database.drop()
    throw failed(error)
  }
  const server: ServerChild = {
    database,
    ...launched,
    async stop() {
      await launched.child.stop()
      await database.drop()
    }
  }
  try {
    return await ready(server)
  } catch (error) {
    await server.stop()
    throw new Error(`${failed(error).message}\n${launched.child.output()}`)
  }
}

/**
 * The server script in its own process on `database` (left to the caller:
 * several servers can share one), once it answers HTTP. If it does not, it is
 * stopped and the error says what it printed.
 */
export async function launchServer(spec: Omit<ServerSpec, 'backend'>, database: BenchDatabase): Promise<{ child: NodeChild; url: string }> {
  const { script, cwd, env } = spec
  const port = await freePort()
  const child = spawnNode(
    script,
    {
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: database.url,
      ...env(database, port)
    },
    cwd
  )
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(url, 60_000, child.exited)
  } catch (error) {
    await child.stop()
    throw new Error(`${(error as Error).message}\n${child.output()}`)
  }
  return { child, url }
}

/** What every server target has alike: its process, database, address, HTTP client, and a stop() that closes them all. */
export function serverTarget(server: ServerChild, backend: Backend, http: HttpClient) {
  return {
    backend,
    database: server.database,
    pid: server.child.pid,
    cpuSeconds: server.child.cpuSeconds,
    url: server.url,
    http,
    async stop() {
      http.close()
      await server.stop()
    }
  }
}
