import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'

/**
 * A private Redis (Debian's `redis-server`) on a free port, for tests that
 * stop and start the bus: nothing saved to disk, killed by the test.
 */
export const REDIS_SERVER = process.env.TEST_REDIS_SERVER ?? 'redis-server'

const STARTUP_TIMEOUT_MS = 5000

/** Why a private Redis cannot be started here, or undefined if it can. */
export const redisServerProblem = (): string | undefined => {
  const version = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  if (version.error) return `${REDIS_SERVER} is not installed (apt-get install redis-server): ${version.error.message}`
  return version.status === 0 ? undefined : `${REDIS_SERVER} --version failed: ${version.stderr}`
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface RedisServer {
  url: string
  port: number
  /** SIGKILL: gone at once, as a crashed Redis. */
  kill(): Promise<void>
  /** Starts it again on the same port (empty: nothing was saved). */
  start(): Promise<void>
  /** Whether it is running now. */
  running(): boolean
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    const process = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = process
    running.add(process)
    exited = new Promise((resolve) =>
      process.once('exit', () => {
        running.delete(process)
        resolve()
      })
    )
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`redis-server did not start on port ${port}: ${output}`)), STARTUP_TIMEOUT_MS)
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8')
        if (output.includes('Ready to accept connections')) done()
      }
      const onExit = () => done(new Error(`redis-server exited at start: ${output}`))
      function done(error?: Error) {
        clearTimeout(timer)
        process.stdout!.off('data', onData)
        process.off('exit', onExit)
        // Drained from now on: a full pipe would block Redis.
        process.stdout!.resume()
        process.stderr!.resume()
        if (error) reject(error)
        else resolve()
      }
      process.stdout!.on('data', onData)
      process.stderr!.on('data', onData)
      process.once('exit', onExit)
    }).catch(async (error: unknown) => {
      process.kill('SIGKILL')
      await exited
      throw error
    })
  }

  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }

  await start()
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null
  return { url: `redis://127.0.0.1:${port}`, port, kill, start, running: isRunning }
}
