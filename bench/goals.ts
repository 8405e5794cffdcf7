import type { Goal, Ratio, TargetResult, Versus } from './results.js'
import { round } from './lib/stats.js'
import { backendOf, kindOf, roostTarget, TARGET_NAMES, variantOf, type Backend, type TargetName } from './targets/types.js'
import type { Metric, WorkloadId } from './workloads/types.js'

/**
 * The issue's targets for Roost on SQLite, the ratios of Roost's headline
 * number to plain Feathers' and raw's on each backend, and of every metric to
 * Roost's baseline and plain twins where they ran.
 */
const median = (targets: TargetResult[], name: TargetName, key: string): number | undefined => {
  const value = targets.find((result) => result.target === name && !result.error && !result.skipped)?.summary[key]?.median
  return value === undefined || !Number.isFinite(value) ? undefined : value
}

const BACKENDS: Backend[] = ['sqlite', 'postgres', 'mongodb']

/** The target of `backend` Roost (this checkout, with its speed-ups) is compared with as `versus`. */
const compared = (backend: Backend, versus: Versus): TargetName | undefined =>
  versus === 'baseline' || versus === 'plain'
    ? roostTarget(backend, versus)
    : TARGET_NAMES.find((name) => kindOf(name) === versus && backendOf(name) === backend && variantOf(name) === 'current')

export function ratios(targets: TargetResult[], metrics: Metric[]): Ratio[] {
  const result: Ratio[] = []
  const add = (backend: Backend, versus: Versus, metric: Metric) => {
    const roost = roostTarget(backend, 'current')
    const other = compared(backend, versus)
    const mine = roost && median(targets, roost, metric.key)
    const theirs = other && median(targets, other, metric.key)
    if (mine !== undefined && theirs !== undefined && theirs !== 0) {
      result.push({ backend, versus, metric: metric.key, better: metric.better, value: mine / theirs })
    }
  }
  for (const backend of BACKENDS) {
    for (const versus of ['feathers', 'raw'] as const) add(backend, versus, metrics[0])
    for (const versus of ['baseline', 'plain'] as const) for (const metric of metrics) add(backend, versus, metric)
  }
  return result
}

const ratioOf = (list: Ratio[], versus: 'feathers' | 'raw') => list.find((ratio) => ratio.backend === 'sqlite' && ratio.versus === versus)?.value

const check = (text: string, values: Array<number | undefined>, test: (...values: number[]) => boolean, actual: (...values: number[]) => string): Goal => {
  if (values.some((value) => value === undefined)) return { text, actual: 'not measured' }
  const numbers = values as number[]
  return { text, pass: test(...numbers), actual: actual(...numbers) }
}

const x = (value: number) => `${round(value, 3)}×`
const ms = (value: number) => `${round(value, 3)} ms`

/**
 * "On PostgreSQL: each ratio to the plain Feathers service on PostgreSQL at
 * least as good as on SQLite": better means higher for rates, lower for times.
 */
function postgresGoal(list: Ratio[]): Goal[] {
  const on = (backend: Backend) => list.find((ratio) => ratio.backend === backend && ratio.versus === 'feathers')
  const sqlite = on('sqlite')
  const postgres = on('postgres')
  if (sqlite === undefined && postgres === undefined) return []
  const higher = (sqlite ?? postgres)!.better === 'higher'
  return [
    check(
      `PostgreSQL: ratio to plain Feathers ${higher ? '≥' : '≤'} SQLite's`,
      [postgres?.value, sqlite?.value],
      (pg, lite) => (higher ? pg >= lite : pg <= lite),
      (pg, lite) => `${x(pg)} (SQLite ${x(lite)})`
    )
  ]
}

export function goals(id: WorkloadId, targets: TargetResult[], list: Ratio[]): Goal[] {
  return [...sqliteGoals(id, targets, list), ...postgresGoal(list)]
}

function sqliteGoals(id: WorkloadId, targets: TargetResult[], list: Ratio[]): Goal[] {
  const roost = (key: string) => median(targets, 'roost-sqlite', key)
  switch (id) {
    case 'W1':
      return [
        check('SQLite: ≥ 1.2× plain Feathers writes/s', [ratioOf(list, 'feathers')], (r) => r >= 1.2, x),
        check('SQLite: p99 ≤ 20 ms', [roost('p99Ms')], (p99) => p99 <= 20, ms)
      ]
    case 'W2':
      return [check('SQLite: ≥ 3× plain Feathers records/s', [ratioOf(list, 'feathers')], (r) => r >= 3, x)]
    case 'W3':
      return [check('SQLite: ≥ 0.8× plain Feathers records/s', [ratioOf(list, 'feathers')], (r) => r >= 0.8, x)]
    case 'W4': {
      // Every run must deliver everything, so the smallest run counts.
      const delivered = targets.find((result) => result.target === 'roost-sqlite')?.summary.deliveredPercent?.min
      return [
        check('SQLite: delivery p99 ≤ 25 ms', [roost('p99Ms')], (p99) => p99 <= 25, ms),
        check('SQLite: 100% delivered', [delivered], (percent) => percent >= 100, (percent) => `${round(percent, 4)}% (worst run)`)
      ]
    }
    case 'W5':
      return [check('SQLite: 1,000-operation commit ≤ 100 ms', [roost('commitMs')], (commit) => commit <= 100, ms)]
    case 'W6': {
      // The same target for each store the client library ships (IndexedDB: in Chromium, "not measured" without it).
      const stores = [
        ['memorySeconds', 'memory store'],
        ['sqliteSeconds', 'SQLite store'],
        ['indexeddbSeconds', 'IndexedDB store in Chromium']
      ] as const
      return stores.map(([key, store]) =>
        check(`SQLite: a new client syncs 10,000 records (${store}) in < 1.5 s`, [roost(key)], (seconds) => seconds < 1.5, (seconds) => `${round(seconds, 3)} s`)
      )
    }
    case 'W8':
      return [check('SQLite: 1,000 offline writes pushed in < 2 s', [roost('seconds')], (seconds) => seconds < 2, (seconds) => `${round(seconds, 3)} s`)]
    case 'W7':
      return [check("SQLite: another user's read p99 ≤ 50 ms under a sign-in flood (hashing)", [roost('p99Ms')], (p99) => p99 <= 50, ms)]
    default:
      return []
  }
}
