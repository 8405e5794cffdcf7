import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { TestDatabase } from './backends.js'

/**
 * Roost as `npm start` runs it, in a process of its own: for what only a real
 * process shows (signals, exit codes, everything written to stdout and
 * stderr). `node --import tsx src/index.ts` is ONE process, so a signal
 * reaches the server itself (the tsx CLI would run it in a grandchild).
 */
export interface ServerProcess {
  url: string
  child: ChildProcess
  /** Everything written to stdout so far, and to stderr (the last 2 MB of each). */
  stdout(): string
  stderr(): string
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL if still running, then wait for the exit. */
  kill(): Promise<void>
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const STARTUP_TIMEOUT_MS = 20_000
const KEPT = 2_000_000

const running = new Set<ChildProcess>()
// Last resort if the worker exits without the test's clean-up: never leave a server behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * Starts the server on a free port (PORT=0; the port is read from its
 * "listening" log line) with the database given and `config` merged over the
 * configuration files (NODE_CONFIG).
 */
export async function startServerProcess(database: TestDatabase, config: object = {}, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: database.databaseUrl,
      ROOST_DATA_DIR: database.dataDir,
      AUTH_SECRET: `process-test-secret-${randomBytes(16).toString('hex')}`,
      LOG_LEVEL: 'info',
      NODE_CONFIG: JSON.stringify(config),
      ...env
    }
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  // Always drained: a full pipe would block the server's (synchronous) logging.
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout = (stdout + chunk.toString('utf8')).slice(-KEPT)
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-KEPT)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    })
  })
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the server did not listen within ${STARTUP_TIMEOUT_MS} ms`)), STARTUP_TIMEOUT_MS)
    const onData = () => {
      const match = /Roost listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
      if (match) done(undefined, Number(match[1]))
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => done(new Error(`the server exited (${signal ?? code}) before listening`))
    function done(error?: Error, port?: number) {
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(Object.assign(error, { message: `${error.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}` }))
      else resolve(port!)
    }
    child.stdout!.on('data', onData)
    child.once('exit', onExit)
    onData()
  }).catch(async (error: unknown) => {
    await kill()
    throw error
  })

  return { url: `http://127.0.0.1:${port}`, child, stdout: () => stdout, stderr: () => stderr, exited, kill }
}

/** The lines of a log that are not one JSON object each. */
export const unstructuredLines = (output: string): string[] =>
  output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        const parsed: unknown = JSON.parse(line)
        return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)
      } catch {
        return true
      }
    })
