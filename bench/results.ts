import type { Usage } from './lib/proc.js'
import type { Spread } from './lib/stats.js'
import type { Backend, TargetName } from './targets/types.js'
import type { Metric, Settings, WorkloadId } from './workloads/types.js'

/** The shape of bench/results/latest.json. */
export interface BenchResult {
  startedAt: string
  durationSeconds: number
  command: string
  machine: Machine
  settings: Settings
  /** True when every workload ran on every target (only then is BENCHMARKS.md rewritten by default). */
  complete: boolean
  targets: TargetInfo[]
  workloads: WorkloadResult[]
  /** A sentence given with --note (say, that the machine was shared), shown with the results. */
  note?: string
  /** The code measured (absent in results from before it was recorded). */
  versions?: Versions
}

/** The commit of this checkout and, with --baseline, of the baseline checkout (its folder and commit). */
export interface Versions {
  current: string
  baseline?: { dir: string; version: string }
}

/** Where a workload merged into benchmarks.json by a later partial run (--update-benchmarks) was measured. */
export interface SeparateRun {
  command: string
  startedAt: string
  durationSeconds: number
  machine: Machine
  settings: Settings
  note?: string
  versions?: Versions
}

export interface TargetInfo {
  name: TargetName
  /** The process doing the work (the benchmark process itself for raw targets; several instances: the first). */
  pid?: number
  /** Several instances: every server process. */
  pids?: number[]
  startSeconds?: number
  /** Why it did not run at all. */
  skipped?: string
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  os: string
  /** 1-minute load average when the benchmark started: high means a busy machine. */
  loadAverage: number
  date: string
}

export interface WorkloadResult {
  id: WorkloadId
  title: string
  description: string
  metrics: Metric[]
  skipped?: string
  targets: TargetResult[]
  ratios: Ratio[]
  goals: Goal[]
  /** Set when this workload comes from another run than the rest of the file (--update-benchmarks). */
  from?: SeparateRun
}

export interface RunRecord {
  values: Record<string, number>
  operations: number
  usage: Usage
}

export interface TargetResult {
  target: TargetName
  /** Why this target did not run this workload. */
  skipped?: string
  error?: string
  runs: RunRecord[]
  /** Median and min–max over the runs, of each metric and of the resource figures below. */
  summary: Record<string, Spread>
}

/** Resource figures in `summary`, besides the workload's metrics. */
export const RESOURCE_KEYS = {
  cpuPercent: 'server CPU % of one core (the benchmark process itself for raw targets)',
  cpuUsPerOp: 'server CPU µs per operation',
  dbCpuPercent: 'PostgreSQL backends CPU % of one core',
  loadCpuPercent: 'load generator (the benchmark process, and the load processes of W4 and W4k) CPU % of one core',
  peakRssMiB: 'peak server RSS, MiB'
} as const

/**
 * Summary keys of the processes a target reports one by one (several
 * instances: `partCpuPercent:Roost 1`, …, `partCpuPercent:nginx`,
 * `partCpuPercent:Redis`): CPU % of one core over the run.
 */
export const PART_CPU_PREFIX = 'partCpuPercent:'

/**
 * Run values a target's W4 adds (several instances): the subscribers' socket.io
 * connections each instance held (`instanceSockets:Roost 1`, …), by its operator view.
 */
export const INSTANCE_SOCKETS_PREFIX = 'instanceSockets:'

/**
 * A ratio of medians on one backend. Against the other targets (`feathers`,
 * `raw`): Roost's headline number divided by theirs. Against Roost itself,
 * for every metric of the workload: this checkout's Roost divided by the
 * --baseline checkout's (`baseline`), or by this checkout's without its
 * storage speed-ups (`plain`).
 */
export interface Ratio {
  backend: Backend
  versus: Versus
  metric: string
  better: 'higher' | 'lower'
  value: number
}

export type Versus = 'feathers' | 'raw' | 'baseline' | 'plain'

/** One of the targets for Roost, checked against this run. */
export interface Goal {
  text: string
  /** Undefined when the numbers it needs are missing. */
  pass?: boolean
  actual: string
}
