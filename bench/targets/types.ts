import type { BenchDatabase, Backend } from '../lib/databases.js'
import type { HttpClient } from '../lib/http.js'
import type { RawDb } from './raw-db.js'

export type { Backend }
export type TargetKind = 'roost' | 'feathers' | 'raw'

/**
 * Which Roost a Roost target runs: the code of this checkout with its storage
 * speed-ups (`current`, the default), the same code with them switched off
 * (`plain`: ROOST_STORAGE_SHORTCUTS=false, the readable reference path), or
 * another checkout given with --baseline (`baseline`: the code before a change).
 */
export type Variant = 'current' | 'plain' | 'baseline'

interface TargetSpec {
  kind: TargetKind
  backend: Backend
  variant: Variant
  /** Roost instances behind one address: 1, or 2 behind nginx with the realtime bus over Redis (issue 18). */
  instances: 1 | 2
}

const spec = (kind: TargetKind, backend: Backend, variant: Variant = 'current', instances: 1 | 2 = 1): TargetSpec => ({ kind, backend, variant, instances })

/**
 * Every target, in the order they run and are reported (a Roost target's
 * baseline and plain twins right after it, so their rows sit together).
 */
export const TARGETS = {
  'roost-sqlite': spec('roost', 'sqlite'),
  'roost-sqlite@baseline': spec('roost', 'sqlite', 'baseline'),
  'roost-sqlite-plain': spec('roost', 'sqlite', 'plain'),
  'roost-postgres': spec('roost', 'postgres'),
  'roost-postgres@baseline': spec('roost', 'postgres', 'baseline'),
  'roost-postgres-plain': spec('roost', 'postgres', 'plain'),
  'roost-postgres-x2': spec('roost', 'postgres', 'current', 2),
  'roost-mongodb': spec('roost', 'mongodb'),
  'feathers-sqlite': spec('feathers', 'sqlite'),
  'feathers-postgres': spec('feathers', 'postgres'),
  'raw-sqlite': spec('raw', 'sqlite'),
  'raw-postgres': spec('raw', 'postgres'),
  'raw-mongodb': spec('raw', 'mongodb')
} as const satisfies Record<string, TargetSpec>

export type TargetName = keyof typeof TARGETS
export const TARGET_NAMES = Object.keys(TARGETS) as TargetName[]

export const kindOf = (name: TargetName): TargetKind => TARGETS[name].kind
export const backendOf = (name: TargetName): Backend => TARGETS[name].backend
export const variantOf = (name: TargetName): Variant => TARGETS[name].variant
export const instancesOf = (name: TargetName): 1 | 2 => TARGETS[name].instances

/**
 * The workloads a target runs, when not all: the several-instance target
 * measures what scaling costs (issue 18), in W1 and W4 only.
 */
export const onlyWorkloadsOf = (name: TargetName): readonly string[] | undefined => (instancesOf(name) > 1 ? ['W1', 'W4'] : undefined)

/** The one-instance Roost target of `backend` in `variant`, if there is one (there is no MongoDB baseline or plain twin). */
export function roostTarget(backend: Backend, variant: Variant): TargetName | undefined {
  return TARGET_NAMES.find((name) => kindOf(name) === 'roost' && backendOf(name) === backend && variantOf(name) === variant && instancesOf(name) === 1)
}

/**
 * What a run without --target runs: every target of this checkout with its
 * speed-ups (the plain twins are opt-in, the baseline ones come with
 * --baseline), and the MongoDB ones only when a server is given. The
 * several-instance target is in it; without Redis or nginx it is skipped with
 * the reason (run.ts).
 */
export function defaultTargets(mongodb: boolean): TargetName[] {
  return TARGET_NAMES.filter((name) => variantOf(name) === 'current' && (mongodb || backendOf(name) !== 'mongodb'))
}

/** A process whose CPU a target reports on its own (roost-postgres-x2: each Roost instance, nginx, Redis). */
export interface ProcessPart {
  label: string
  /** Part of the server CPU (`cpuSeconds`): the Roost instances are, nginx and Redis are not. */
  server: boolean
  /** Its CPU seconds so far, or undefined when it cannot be read (a remote Redis). */
  cpuSeconds(): Promise<number | undefined>
}

interface BaseTarget {
  name: TargetName
  backend: Backend
  database: BenchDatabase
  /** The process doing the work: the server child, or this process for raw targets (several instances: the first). */
  pid: number
  /** Every server process (several instances: each one), whose resident memory is summed. */
  pids?: number[]
  /** The server's CPU seconds so far (several instances: summed). */
  cpuSeconds(): Promise<number>
  /** Processes whose CPU is also reported one by one. */
  parts?: ProcessPart[]
  stop(): Promise<void>
}

/** The real Roost server (src/index.ts) in a child process, signed in as one user. */
export interface RoostTarget extends BaseTarget {
  kind: 'roost'
  url: string
  /** Sends `Authorization: Bearer <token>` with every request. */
  http: HttpClient
  accessToken: string
  /** Creates a new empty collection and returns its id. */
  newCollection(): Promise<string>
  /** Several instances: the socket.io connections each one holds, by its part label (its operator view). */
  socketsPerInstance?(): Promise<Record<string, number>>
}

/** The plain Feathers app (feathers-app.ts) in a child process: one `items` service, no auth. */
export interface FeathersTarget extends BaseTarget {
  kind: 'feathers'
  url: string
  http: HttpClient
  /** Inserts rows straight into the app's `items` table (seeding), returning the first new id. */
  seedItems(count: number, data: (index: number) => unknown): Promise<number>
}

/** better-sqlite3 / pg used directly from this process. */
export interface RawTarget extends BaseTarget {
  kind: 'raw'
  db: RawDb
}

export type Target = RoostTarget | FeathersTarget | RawTarget
