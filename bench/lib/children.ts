import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ProbeAnswer } from './child-probe.js'

/**
 * Child processes of the benchmark (the servers under test) and the cleanup
 * that must run however the benchmark ends: children are killed and
 * registered cleanups (temporary folders, PostgreSQL databases) run on normal
 * exit, on errors and on SIGINT/SIGTERM. Every child also preloads
 * child-probe.ts, so it exits by itself if this process dies without
 * cleaning up (SIGKILL), and answers CPU probes (see child-probe.ts).
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PROBE = fileURLToPath(new URL('./child-probe.ts', import.meta.url))

const children = new Set<ChildProcess>()
const cleanups = new Set<() => Promise<void> | void>()

export interface NodeChild {
  process: ChildProcess
  pid: number
  /** The last lines the child wrote to stdout and stderr, for error messages. */
  output(): string
  /** Resolves when the child has exited (immediately if it has). */
  exited: Promise<number | null>
  /** The child's CPU seconds so far, as it measures them itself (microsecond resolution). */
  cpuSeconds(): Promise<number>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Runs a TypeScript file (relative to `cwd`: this checkout, or another one
 * such as a baseline) with Node, through the tsx loader `cwd` resolves, in its
 * own process. With BENCH_CPU_PROF=<folder>, each child writes a CPU profile
 * there when it stops.
 */
export function spawnNode(script: string, env: Record<string, string>, cwd = ROOT): NodeChild {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', '--import', PROBE, script], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  if (child.pid === undefined) throw new Error(`Could not start ${script}`)
  children.add(child)
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    })
  })
  let probes = 0
  const cpuSeconds = () =>
    new Promise<number>((resolve, reject) => {
      const probe = ++probes
      const timer = setTimeout(() => finish(new Error('the child did not answer a CPU probe within 5 s')), 5000)
      const listener = (answer: ProbeAnswer) => answer.probe === probe && finish(undefined, answer.cpuMicros / 1e6)
      function finish(error?: Error, seconds?: number) {
        clearTimeout(timer)
        child.off('message', listener)
        if (error) reject(error)
        else resolve(seconds!)
      }
      child.on('message', listener)
      child.send({ probe })
    })
  return {
    process: child,
    pid: child.pid,
    output: () => tail,
    exited,
    cpuSeconds,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Runs `cleanup` when the benchmark ends, however it ends (unless it was unregistered). */
export function onCleanup(cleanup: () => Promise<void> | void): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

let cleaningUp = false

/** Kills every child and runs every registered cleanup. */
export async function cleanupAll(): Promise<void> {
  cleaningUp = true
  killChildren()
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup)
    try {
      await cleanup()
    } catch (error) {
      console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

function killChildren() {
  for (const child of children) child.kill('SIGKILL')
}

let installed = false

/** Kills the children on any exit; on signals and crashes also runs the cleanups first. */
export function installExitHandlers(): void {
  if (installed) return
  installed = true
  process.on('exit', killChildren)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the benchmark`)
      void cleanupAll().finally(() => process.exit(130))
    })
  }
  const crash = (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    // Connections dropping while the cleanup removes their databases are expected.
    if (cleaningUp) return console.error(`(during cleanup) ${message.split('\n')[0]}`)
    console.error(`The benchmark crashed: ${message}`)
    void cleanupAll().finally(() => process.exit(1))
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
}
