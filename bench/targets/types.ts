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
}

const spec = (kind: TargetKind, backend: Backend, variant: Variant = 'current'): TargetSpec => ({ kind, backend, variant })

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

/** The Roost target of `backend` in `variant`, if there is one (there is no MongoDB baseline or plain twin). */
export function roostTarget(backend: Backend, variant: Variant): TargetName | undefined {
  return TARGET_NAMES.find((name) => kindOf(name) === 'roost' && backendOf(name) === backend && variantOf(name) === variant)
}

/**
 * What a run without --target runs: every target of this checkout with its
 * speed-ups (the plain twins are opt-in, the baseline ones come with
 * --baseline), and the MongoDB ones only when a server is given.
 */
export function defaultTargets(mongodb: boolean): TargetName[] {
  return TARGET_NAMES.filter((name) => variantOf(name) === 'current' && (mongodb || backendOf(name) !== 'mongodb'))
}

interface BaseTarget {
  name: TargetName
  backend: Backend
  database: BenchDatabase
  /** The process doing the work: the server child, or this process for raw targets. */
  pid: number
  /** That process's CPU seconds so far. */
  cpuSeconds(): Promise<number>
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
