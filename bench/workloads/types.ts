import type { Target } from '../targets/types.js'

/** What the command line can change; the defaults are the issue's. */
export interface Settings {
  /** Runs per workload and target; the report gives their median and min–max. */
  runs: number
  /** Duration of one W1 / W1s / W1e / W4 / W4k run. */
  seconds: number
  /** W1, W1s, W1e: concurrent writers; W7: clients flooding sign-in. */
  clients: number
  /** W2: records per run, and per request. */
  bulkRecords: number
  bulkChunk: number
  /** W3, W3b: records in the collection read, and per page. */
  feedRecords: number
  feedPage: number
  /** W4: socket.io subscribers, and writes per second. */
  subscribers: number
  rate: number
  /** W4k: socket.io subscribers of one collection (a crowd), and writes per second. */
  crowdSubscribers: number
  crowdRate: number
  /** W5: operations per batch, staged in this many appends. */
  batchOperations: number
  batchAppends: number
  /** W6, W6e: records a new client pulls. */
  syncRecords: number
  /** W8: writes a client makes offline and then pushes. */
  offlineWrites: number
}

export const DEFAULT_SETTINGS: Settings = {
  runs: 3,
  seconds: 10,
  clients: 16,
  bulkRecords: 10_000,
  bulkChunk: 500,
  feedRecords: 100_000,
  feedPage: 1000,
  subscribers: 100,
  rate: 200,
  crowdSubscribers: 1000,
  crowdRate: 50,
  batchOperations: 1000,
  batchAppends: 10,
  syncRecords: 10_000,
  offlineWrites: 1000
}

export interface Metric {
  key: string
  label: string
  unit: string
  better: 'higher' | 'lower'
}

/** One run's numbers by metric key, plus how many operations the run did (for CPU per operation). */
export interface RunResult {
  values: Record<string, number>
  operations: number
  /** CPU seconds of load processes the workload runs itself (W4's writer and subscribers), counted with the load generator's. */
  loadCpuSeconds?: number
}

/** In the order they run and are reported: each variant (W1s, W1e, W3b, W4k, W6e) right after the workload it varies. */
export const WORKLOAD_IDS = ['W1', 'W1s', 'W1e', 'W2', 'W3', 'W3b', 'W4', 'W4k', 'W5', 'W6', 'W6e', 'W7', 'W8'] as const
export type WorkloadId = (typeof WORKLOAD_IDS)[number]

export interface Workload<State = unknown> {
  id: WorkloadId
  title: string
  /** One paragraph for BENCHMARKS.md: what each kind of target does. */
  description: (settings: Settings) => string
  /** The first metric is the headline, which the ratios compare. */
  metrics: Metric[]
  /** Why the workload cannot run at all, or undefined. */
  skipped?: string
  /**
   * Origins of browser pages this workload calls the servers from, found
   * before the targets start: Roost targets allow them by CORS (`origins`).
   */
  browserOrigins?(): Promise<string[]>
  /** Why the workload does not apply to this target, or undefined. */
  unsupported?(target: Target): string | undefined
  /** Untimed setup on one target (collections, seed data, connections). */
  prepare(target: Target, settings: Settings): Promise<State>
  /** One timed run. Throws if the target misbehaved (lost writes, wrong counts). */
  run(target: Target, state: State, settings: Settings): Promise<RunResult>
  /** Undoes `prepare` (closes connections); the database goes away with the target. */
  finish?(state: State): Promise<void>
}
