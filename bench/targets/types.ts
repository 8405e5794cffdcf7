import type { BenchDatabase, Backend } from '../lib/databases.js'
import type { HttpClient } from '../lib/http.js'
import type { RawDb } from './raw-db.js'

export type { Backend }

export const TARGET_NAMES = ['roost-sqlite', 'roost-postgres', 'feathers-sqlite', 'feathers-postgres', 'raw-sqlite', 'raw-postgres'] as const
export type TargetName = (typeof TARGET_NAMES)[number]
export type TargetKind = 'roost' | 'feathers' | 'raw'

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

export const kindOf = (name: TargetName): TargetKind => name.split('-')[0] as TargetKind
export const backendOf = (name: TargetName): Backend => name.split('-')[1] as Backend
