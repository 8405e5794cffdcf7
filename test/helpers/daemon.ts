import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'

/**
 * A server binary of the machine (redis-server, nats-server…) run by a test
 * on a port of its own, killed and started again on that port at will, and
 * never left behind: killed when the test process exits.
 */
const STARTUP_TIMEOUT_MS = 5000

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A port nothing listens on now (the OS's choice). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Why `binary` cannot be run here (with the package that brings it), or undefined if it can. */
export function binaryProblem(binary: string, aptPackage: string): string | undefined {
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  if (version.error) return `${binary} is not installed (apt-get install ${aptPackage}): ${version.error.message}`
  return version.status === 0 ? undefined : `${binary} --version failed: ${version.stderr}`
}

export interface Daemon {
  port: number
  /** SIGKILL: gone at once, as a crashed server. */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  start(): Promise<void>
  /** Whether it is running now. */
  running(): boolean
}

export interface DaemonSpec {
  binary: string
  /** Its command line for a port. */
  args(port: number): string[]
  /** What it writes (stdout or stderr) once it accepts connections. */
  readyLine: string
}

/** Starts `spec.binary` on a free port and resolves once it says it is ready. */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const port = await freePort()
  const name = spec.binary.split('/').at(-1)
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null

  const start = async () => {
    const server = spawn(spec.binary, spec.args(port), { stdio: ['ignore', 'pipe', 'pipe'] })
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
      const timer = setTimeout(() => done(new Error(`${name} did not start on port ${port}: ${output}`)), STARTUP_TIMEOUT_MS)
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8')
        if (output.includes(spec.readyLine)) done()
      }
      const onExit = () => done(new Error(`${name} exited at start: ${output}`))
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
    if (isRunning()) child!.kill('SIGKILL')
    await exited
  }

  await start()
  return { port, kill, start, running: isRunning }
}
