import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'

/**
 * A private NATS server (Debian's `nats-server`) on a free port, for tests
 * that stop and start the bus: killed by the test, or when the process exits.
 */
export const NATS_SERVER = process.env.TEST_NATS_SERVER ?? 'nats-server'

const STARTUP_TIMEOUT_MS = 5000

/** Why a private NATS server cannot be started here, or undefined if it can. */
export const natsServerProblem = (): string | undefined => {
  const version = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' })
  if (version.error) return `${NATS_SERVER} is not installed (apt-get install nats-server): ${version.error.message}`
  return version.status === 0 ? undefined : `${NATS_SERVER} --version failed: ${version.stderr}`
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

export interface NatsServer {
  /** nats://127.0.0.1:<port>, without credentials. */
  url: string
  /** SIGKILL: gone at once, as a crashed server. */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  start(): Promise<void>
}

/** `args`: more of nats-server's options (`--user`, `--pass`, `--auth`…). */
export async function startNatsServer(args: string[] = []): Promise<NatsServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    const server = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = server
    running.add(server)
    exited = new Promise((resolve) =>
      server.once('exit', () => {
        running.delete(server)
        resolve()
      })
    )
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`nats-server did not start on port ${port}: ${output}`)), STARTUP_TIMEOUT_MS)
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8')
        if (output.includes('Server is ready')) done()
      }
      const onExit = () => done(new Error(`nats-server exited at start: ${output}`))
      function done(error?: Error) {
        clearTimeout(timer)
        server.stdout!.off('data', onData)
        server.stderr!.off('data', onData)
        server.off('exit', onExit)
        // Drained from now on: a full pipe would block the server.
        server.stdout!.resume()
        server.stderr!.resume()
        if (error) reject(error)
        else resolve()
      }
      server.stdout!.on('data', onData)
      server.stderr!.on('data', onData)
      server.once('exit', onExit)
    }).catch(async (error: unknown) => {
      server.kill('SIGKILL')
      await exited
      throw error
    })
  }

  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }

  await start()
  return { url: `nats://127.0.0.1:${port}`, kill, start }
}
