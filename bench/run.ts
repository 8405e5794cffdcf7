import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { goals, ratios } from './goals.js'
import { mergeInto } from './merge.js'
import { baselineProblem, checkoutVersion } from './lib/checkout.js'
import { cleanupAll, installExitHandlers, ROOT } from './lib/children.js'
import { postgresProblem, type Backend } from './lib/databases.js'
import { instancesProblem } from './lib/instances.js'
import { MONGODB_URL, mongodbProblem } from './lib/mongodb.js'
import { ResourceMeter } from './lib/proc.js'
import { round, spread } from './lib/stats.js'
import { benchmarksMarkdown, ratioChartSvg, resultsMarkdown } from './report.js'
import { PART_CPU_PREFIX, type BenchResult, type Machine, type RunRecord, type TargetInfo, type TargetResult, type WorkloadResult } from './results.js'
import { quietPostgres } from './lib/databases.js'
import {
  backendOf,
  defaultTargets,
  instancesOf,
  kindOf,
  onlyWorkloadsOf,
  roostTarget,
  startTarget,
  TARGET_NAMES,
  variantOf,
  type Target,
  type TargetName
} from './targets/index.js'
import { DEFAULT_SETTINGS, WORKLOAD_IDS, WORKLOADS, type Settings, type Workload, type WorkloadId } from './workloads/index.js'

const mongodbTargets = defaultTargets(true).filter((name) => backendOf(name) === 'mongodb')
const severalTargets = TARGET_NAMES.filter((name) => instancesOf(name) > 1)

const USAGE = `npm run bench -- [options]

Runs the workloads against the targets, in this process as the load generator,
and writes <out>/latest.json, <out>/latest.md and <out>/ratios.svg; a full run
(every workload on every target, default --out) also rewrites BENCHMARKS.md
with its numbers in <out>/benchmarks.json and its chart in <out>/benchmarks-ratios.svg.

  --workload W1,W2,…   workloads (default: all: ${WORKLOAD_IDS.join(', ')})
  --target NAME,…      targets (default: ${defaultTargets(false).join(', ')},
                       and with BENCH_MONGODB_URL ${mongodbTargets.join(', ')};
                       ${severalTargets.join(', ')} runs W1 and W4 only, and needs Redis and nginx;
                       opt-in: ${TARGET_NAMES.filter((name) => variantOf(name) === 'plain').join(', ')},
                       and with --baseline ${TARGET_NAMES.filter((name) => variantOf(name) === 'baseline').join(', ')})
  --baseline DIR       before and after in one run: each Roost target asked for (SQLite,
                       PostgreSQL) also runs as roost-<db>@baseline, the server of DIR,
                       another checkout of Roost (say a git worktree of the commit before
                       a change, with node_modules), run in DIR (its config/, migrations/);
                       the report gives current ÷ baseline for every metric
  --plain              what the storage speed-ups buy: each Roost target asked for (SQLite,
                       PostgreSQL) also runs as roost-<db>-plain, this checkout with
                       ROOST_STORAGE_SHORTCUTS=false; the report gives speed-ups ÷ plain
  --runs N             runs per workload and target (default ${DEFAULT_SETTINGS.runs})
  --seconds S          duration of a W1 / W1s / W1e / W4 / W4k run (default ${DEFAULT_SETTINGS.seconds})
  --clients N          W1 / W1s / W1e concurrent writers (default ${DEFAULT_SETTINGS.clients})
  --bulk N             W2 records per run (default ${DEFAULT_SETTINGS.bulkRecords}, in requests of ${DEFAULT_SETTINGS.bulkChunk})
  --feed N             W3 / W3b records in the collection (default ${DEFAULT_SETTINGS.feedRecords}, pages of ${DEFAULT_SETTINGS.feedPage})
  --subscribers N      W4 socket.io subscribers (default ${DEFAULT_SETTINGS.subscribers})
  --rate N             W4 writes per second (default ${DEFAULT_SETTINGS.rate})
  --crowd N            W4k socket.io subscribers (default ${DEFAULT_SETTINGS.crowdSubscribers})
  --crowd-rate N       W4k writes per second (default ${DEFAULT_SETTINGS.crowdRate})
  --batch N            W5 operations per batch (default ${DEFAULT_SETTINGS.batchOperations}, in ${DEFAULT_SETTINGS.batchAppends} appends)
  --sync N             W6 / W6e records a new client pulls (default ${DEFAULT_SETTINGS.syncRecords})
  --offline N          W8 writes a client makes offline, then pushes (default ${DEFAULT_SETTINGS.offlineWrites})
  --out DIR            where the results go (default bench/results)
  --benchmarks-md      rewrite BENCHMARKS.md even for a partial run
  --no-benchmarks-md   never rewrite BENCHMARKS.md
  --update-benchmarks  a partial run's workloads replace theirs in <out>/benchmarks.json
                       (the last full run's others are kept) and BENCHMARKS.md is
                       rewritten; those workloads say which run they come from
  --note TEXT          a sentence kept with the results and shown with them
                       (say, that the machine was shared)

Databases: PostgreSQL targets use BENCH_POSTGRES_URL (or TEST_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/postgres); MongoDB targets (roost-mongodb, raw-mongodb)
need BENCH_MONGODB_URL, a replica set (mongodb://localhost:27017/?replicaSet=rs0), and
are in the default run only when it is set. ${severalTargets.join(', ')} (two Roost instances behind
nginx, realtime over Redis) needs Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379) and
Debian's nginx (/usr/sbin/nginx); without them it is skipped with the reason. Every target gets a database of its own,
dropped at the end; a target whose database is missing is skipped with the reason.

Examples:
  npm run bench -- --workload W1 --target roost-sqlite --runs 1 --seconds 2
  npm run bench -- --workload W1,W1s --target roost-postgres,raw-postgres
  npm run bench -- --workload W1,W2 --target roost-sqlite,roost-postgres --baseline ../roost-main --plain`

interface Options {
  workloads: WorkloadId[]
  targets: TargetName[]
  /** The baseline checkout (--baseline), absolute. */
  baseline: string | undefined
  settings: Settings
  out: string
  benchmarksMd: boolean | undefined
  updateBenchmarks: boolean
  note: string | undefined
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      workload: { type: 'string', multiple: true },
      target: { type: 'string', multiple: true },
      baseline: { type: 'string' },
      plain: { type: 'boolean' },
      runs: { type: 'string' },
      seconds: { type: 'string' },
      clients: { type: 'string' },
      bulk: { type: 'string' },
      feed: { type: 'string' },
      subscribers: { type: 'string' },
      rate: { type: 'string' },
      crowd: { type: 'string' },
      'crowd-rate': { type: 'string' },
      batch: { type: 'string' },
      sync: { type: 'string' },
      offline: { type: 'string' },
      out: { type: 'string' },
      'benchmarks-md': { type: 'boolean' },
      'no-benchmarks-md': { type: 'boolean' },
      'update-benchmarks': { type: 'boolean' },
      note: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const list = <T extends string>(given: string[] | undefined, allowed: readonly T[], what: string, fallback: readonly T[] = allowed): T[] => {
    if (!given) return [...fallback]
    const names = given.flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean)
    for (const name of names) if (!allowed.includes(name as T)) throw new Error(`Unknown ${what} "${name}"; one of ${allowed.join(', ')}`)
    return allowed.filter((name) => names.includes(name))
  }
  const number = (value: string | undefined, fallback: number, what: string, min = 1): number => {
    if (value === undefined) return fallback
    const parsed = Number(value)
    if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${what} must be a number ≥ ${min}`)
    return parsed
  }
  const integer = (value: string | undefined, fallback: number, what: string) => Math.round(number(value, fallback, what))
  const baseline = values.baseline === undefined ? undefined : path.resolve(values.baseline)
  const problem = baseline && baselineProblem(baseline)
  if (problem) throw new Error(problem)
  return {
    workloads: list(values.workload, WORKLOAD_IDS, 'workload'),
    targets: withTwins(list(values.target, TARGET_NAMES, 'target', defaultTargets(MONGODB_URL !== undefined)), baseline !== undefined, values.plain ?? false),
    baseline,
    settings: {
      ...DEFAULT_SETTINGS,
      runs: integer(values.runs, DEFAULT_SETTINGS.runs, 'runs'),
      seconds: number(values.seconds, DEFAULT_SETTINGS.seconds, 'seconds', 0.1),
      clients: integer(values.clients, DEFAULT_SETTINGS.clients, 'clients'),
      bulkRecords: integer(values.bulk, DEFAULT_SETTINGS.bulkRecords, 'bulk'),
      feedRecords: integer(values.feed, DEFAULT_SETTINGS.feedRecords, 'feed'),
      subscribers: integer(values.subscribers, DEFAULT_SETTINGS.subscribers, 'subscribers'),
      rate: number(values.rate, DEFAULT_SETTINGS.rate, 'rate'),
      crowdSubscribers: integer(values.crowd, DEFAULT_SETTINGS.crowdSubscribers, 'crowd'),
      crowdRate: number(values['crowd-rate'], DEFAULT_SETTINGS.crowdRate, 'crowd-rate'),
      batchOperations: integer(values.batch, DEFAULT_SETTINGS.batchOperations, 'batch'),
      syncRecords: integer(values.sync, DEFAULT_SETTINGS.syncRecords, 'sync'),
      offlineWrites: integer(values.offline, DEFAULT_SETTINGS.offlineWrites, 'offline')
    },
    out: path.resolve(values.out ?? path.join(ROOT, 'bench/results')),
    benchmarksMd: values['no-benchmarks-md'] ? false : values['benchmarks-md'] ? true : undefined,
    updateBenchmarks: values['update-benchmarks'] ?? false,
    note: values.note
  }
}

/**
 * The targets asked for, with the baseline and plain twins of their Roost
 * targets when --baseline and --plain ask for them, in TARGET_NAMES' order
 * (each twin next to its Roost target).
 */
function withTwins(names: TargetName[], baseline: boolean, plain: boolean): TargetName[] {
  const wanted = new Set(names)
  for (const name of names) {
    if (variantOf(name) === 'baseline' && !baseline) throw new Error(`${name} needs --baseline DIR (the checkout it runs)`)
    if (kindOf(name) !== 'roost' || variantOf(name) !== 'current' || instancesOf(name) > 1) continue
    for (const [variant, asked] of [['baseline', baseline], ['plain', plain]] as const) {
      const twin = asked ? roostTarget(backendOf(name), variant) : undefined
      if (twin) wanted.add(twin)
    }
  }
  return TARGET_NAMES.filter((name) => wanted.has(name))
}

/**
 * Why each target cannot run: its backend's server is missing, or (several
 * instances) Redis or nginx is; targets not in the map can run.
 */
async function targetProblems(targets: TargetName[]): Promise<Map<TargetName, string>> {
  const problems = new Map<TargetName, string>()
  const backends = await backendProblems(targets)
  const several = targets.some((name) => instancesOf(name) > 1) ? await instancesProblem() : undefined
  for (const name of targets) {
    const problem = backends.get(backendOf(name)) ?? (instancesOf(name) > 1 ? several : undefined)
    if (problem) problems.set(name, problem)
  }
  return problems
}

/** Why each backend the targets need cannot be used (a missing server), or nothing if it can. */
async function backendProblems(targets: TargetName[]): Promise<Map<Backend, string>> {
  const checks: Record<Backend, () => Promise<string | undefined>> = {
    sqlite: async () => undefined,
    postgres: postgresProblem,
    mongodb: mongodbProblem
  }
  const problems = new Map<Backend, string>()
  for (const backend of new Set(targets.map(backendOf))) {
    const problem = await checks[backend]()
    if (problem) problems.set(backend, problem)
  }
  return problems
}

function machine(): Machine {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 3),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: round(os.loadavg()[0], 3),
    date: new Date().toISOString()
  }
}

/** The command as one would type it again: --note (shown on its own) left out, arguments with spaces quoted. */
function commandLine(args: string[]): string {
  const kept = args.filter((arg, index) => arg !== '--note' && args[index - 1] !== '--note' && !arg.startsWith('--note='))
  const quoted = kept.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
  return ['npm run bench', ...(quoted.length > 0 ? ['--', ...quoted] : [])].join(' ')
}

const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error))
const format = (value: number) => (Number.isFinite(value) ? round(value, 3).toLocaleString('en') : String(value))

/**
 * Before every timed run, whatever its target: what earlier runs left to
 * PostgreSQL (dead rows, dirty pages) is cleaned up, and its autovacuum
 * workers have finished, so that no run (SQLite's included: the machine's two
 * cores are shared) competes with the aftermath of another target's run.
 */
async function settleAll(targets: Target[]): Promise<void> {
  for (const database of new Set(targets.map((target) => target.database))) await database.settle()
  if (targets.some((target) => target.backend === 'postgres')) await quietPostgres()
}

/** One timed run with the server's CPU and memory measured around it. */
async function measuredRun(workload: Workload, target: Target, state: unknown, settings: Settings, everyTarget: Target[]): Promise<RunRecord> {
  await settleAll(everyTarget)
  const meter = new ResourceMeter(target.pids ?? target.pid, () => target.cpuSeconds(), target.database.backendPids, target.parts)
  await meter.start()
  try {
    const { loadCpuSeconds = 0, ...result } = await workload.run(target, state, settings)
    const usage = await meter.stop()
    return { ...result, usage: { ...usage, loadCpuSeconds: usage.loadCpuSeconds + loadCpuSeconds } }
  } catch (error) {
    await meter.stop()
    throw error
  }
}

function summarize(runs: RunRecord[]): TargetResult['summary'] {
  const keys = new Set(runs.flatMap((run) => Object.keys(run.values)))
  const summary: TargetResult['summary'] = {}
  for (const key of keys) summary[key] = spread(runs.map((run) => run.values[key]))
  summary.cpuPercent = spread(runs.map((run) => (100 * run.usage.cpuSeconds) / run.usage.wallSeconds))
  summary.cpuUsPerOp = spread(runs.map((run) => (1e6 * run.usage.cpuSeconds) / run.operations))
  if (runs.some((run) => run.usage.dbCpuSeconds !== undefined)) {
    summary.dbCpuPercent = spread(runs.map((run) => (100 * (run.usage.dbCpuSeconds ?? Number.NaN)) / run.usage.wallSeconds))
  }
  summary.loadCpuPercent = spread(runs.map((run) => (100 * run.usage.loadCpuSeconds) / run.usage.wallSeconds))
  summary.peakRssMiB = spread(runs.map((run) => run.usage.peakRssMiB))
  // Processes reported one by one (several instances): each one's CPU % of one core, NaN where it could not be read.
  for (const label of new Set(runs.flatMap((run) => (run.usage.parts ?? []).map((part) => part.label)))) {
    summary[`${PART_CPU_PREFIX}${label}`] = spread(
      runs.map((run) => (100 * (run.usage.parts?.find((part) => part.label === label)?.cpuSeconds ?? Number.NaN)) / run.usage.wallSeconds)
    )
  }
  return summary
}

/** Runs one workload on every target; `earlier` (this run's workloads so far) is for goals that compare two workloads. */
async function runWorkload(
  workload: Workload,
  targets: Map<TargetName, Target | string>,
  settings: Settings,
  earlier: WorkloadResult[]
): Promise<WorkloadResult> {
  const base = { id: workload.id, title: workload.title, description: workload.description(settings), metrics: workload.metrics }
  console.log(`\n${workload.id} ${workload.title}`)
  if (workload.skipped) {
    console.log(`  SKIPPED: ${workload.skipped}`)
    return { ...base, skipped: workload.skipped, targets: [], ratios: [], goals: [] }
  }
  const results = new Map<TargetName, TargetResult>()
  const states = new Map<TargetName, unknown>()
  // A target that runs some workloads only (several instances: W1, W4) is left out of the others' tables.
  const runsHere = ([name]: [TargetName, unknown]) => onlyWorkloadsOf(name)?.includes(workload.id) ?? true
  for (const [name, target] of [...targets].filter(runsHere)) {
    const result: TargetResult = { target: name, runs: [], summary: {} }
    results.set(name, result)
    if (typeof target === 'string') {
      // It did not start: said once at the start, shown in the tables.
      result.skipped = target
      continue
    }
    result.skipped = workload.unsupported?.(target)
    if (result.skipped) {
      console.log(`  ${name}: skipped (${result.skipped})`)
      continue
    }
    try {
      states.set(name, await workload.prepare(target as Target, settings))
    } catch (error) {
      result.error = `prepare: ${describeError(error)}`
      console.log(`  ${name}: FAILED ${result.error}`)
    }
  }
  const running = [...targets.values()].filter((target): target is Target => typeof target !== 'string')
  const width = Math.max(17, ...[...states.keys()].map((name) => name.length))
  // Runs interleave the targets, so a noisy moment does not hit one target's runs only.
  for (let run = 1; run <= settings.runs; run++) {
    for (const [name, state] of states) {
      const result = results.get(name)!
      if (result.error) continue
      try {
        const record = await measuredRun(workload, targets.get(name) as Target, state, settings, running)
        result.runs.push(record)
        const shown = workload.metrics
          .filter((metric) => metric.key in record.values)
          .map((metric) => `${metric.label} ${format(record.values[metric.key])}${metric.unit === '/s' ? '' : ` ${metric.unit}`}`)
        const percent = (seconds: number | undefined) => (seconds === undefined ? '?' : format((100 * seconds) / record.usage.wallSeconds))
        const parts = (record.usage.parts ?? []).map((part) => `${part.label} ${percent(part.cpuSeconds)}%`)
        console.log(
          `  run ${run}/${settings.runs}  ${name.padEnd(width)} ${shown.join('  ')}  cpu ${percent(record.usage.cpuSeconds)}%` +
            `${parts.length > 0 ? ` (${parts.join(', ')})` : ''}  cpu/op ${format((1e6 * record.usage.cpuSeconds) / record.operations)} µs  rss ${format(record.usage.peakRssMiB)} MiB`
        )
      } catch (error) {
        result.error = `run ${run}: ${describeError(error)}`
        console.log(`  ${name}: FAILED ${result.error}`)
      }
    }
  }
  for (const [name, state] of states) {
    await workload.finish?.(state).catch((error: unknown) => console.log(`  ${name}: finish failed: ${describeError(error)}`))
  }
  const targetResults = [...results.values()]
  for (const result of targetResults) if (result.runs.length > 0) result.summary = summarize(result.runs)
  const list = ratios(targetResults, workload.metrics)
  return { ...base, targets: targetResults, ratios: list, goals: goals(workload.id, targetResults, list, earlier) }
}

/**
 * The origins the selected workloads' browser pages call from, for the Roost
 * targets' CORS. A page that cannot be served is that workload's problem (it
 * says so when it runs), not a reason to stop the benchmark.
 */
async function browserOrigins(workloads: Workload[]): Promise<string[]> {
  const origins: string[] = []
  for (const workload of workloads) {
    if (workload.skipped || !workload.browserOrigins) continue
    try {
      // W6 and W6e share one page (one origin): each origin once.
      for (const origin of await workload.browserOrigins()) if (!origins.includes(origin)) origins.push(origin)
    } catch (error) {
      console.log(`${workload.id}: its browser page could not be served: ${describeError(error)}`)
    }
  }
  return origins
}

async function main() {
  installExitHandlers()
  const options = parseOptions(process.argv.slice(2))
  const started = performance.now()
  const startedAt = new Date().toISOString()
  // Taken now: the report gives the load average and date "at the start" (at the end the benchmark's own load is in it).
  const startMachine = machine()
  const versions = {
    current: checkoutVersion(ROOT),
    ...(options.baseline ? { baseline: { dir: options.baseline, version: checkoutVersion(options.baseline) } } : {})
  }
  console.log(`Roost benchmarks: ${options.workloads.join(', ')} on ${options.targets.join(', ')}`)
  console.log(`settings: ${JSON.stringify(options.settings)}`)
  console.log(`code: ${versions.current}${versions.baseline ? `; baseline: ${versions.baseline.dir} at ${versions.baseline.version}` : ''}`)

  const problems = await targetProblems(options.targets)
  // One line per reason (the targets of a missing database together).
  for (const problem of new Set(problems.values())) {
    console.log(`SKIPPED ${options.targets.filter((name) => problems.get(name) === problem).join(', ')}: ${problem}`)
  }
  const targets = new Map<TargetName, Target | string>()
  const infos: TargetInfo[] = []
  try {
    const origins = await browserOrigins(options.workloads.map((id) => WORKLOADS[id]))
    for (const name of options.targets) {
      const problem = problems.get(name)
      if (problem) {
        targets.set(name, problem)
        infos.push({ name, skipped: problem })
        continue
      }
      const start = performance.now()
      try {
        const target = await startTarget(name, { origins, baselineDir: options.baseline })
        const startSeconds = round((performance.now() - start) / 1000, 3)
        targets.set(name, target)
        infos.push({ name, pid: target.pid, ...(target.pids ? { pids: target.pids } : {}), startSeconds })
        console.log(`started ${name} (pid ${target.pids?.join(', ') ?? target.pid}) in ${startSeconds} s`)
      } catch (error) {
        console.log(`FAILED to start ${name}: ${describeError(error)}`)
        const reason = `did not start: ${describeError(error).split('\n')[0]}`
        targets.set(name, reason)
        infos.push({ name, skipped: reason })
      }
    }

    const workloads: WorkloadResult[] = []
    for (const id of options.workloads) workloads.push(await runWorkload(WORKLOADS[id], targets, options.settings, workloads))

    const result: BenchResult = {
      startedAt,
      durationSeconds: round((performance.now() - started) / 1000, 4),
      command: commandLine(process.argv.slice(2)),
      machine: startMachine,
      settings: options.settings,
      // Every workload on every default target (twins added with --baseline or --plain do not make a run partial).
      complete:
        options.workloads.length === WORKLOAD_IDS.length && defaultTargets(MONGODB_URL !== undefined).every((name) => options.targets.includes(name)),
      targets: infos,
      workloads,
      ...(options.note ? { note: options.note } : {}),
      versions
    }
    writeResults(result, options)
    const failed = workloads.flatMap((workload) => workload.targets.filter((target) => target.error).map((target) => `${workload.id} ${target.target}: ${target.error}`))
    if (failed.length > 0) {
      console.log(`\n${failed.length} failure(s):\n  ${failed.join('\n  ')}`)
      process.exitCode = 1
    }
    console.log(`\nfinished in ${result.durationSeconds} s`)
  } finally {
    for (const target of targets.values()) {
      if (typeof target !== 'string') await target.stop().catch((error: unknown) => console.log(`stopping ${target.name}: ${describeError(error)}`))
    }
    await cleanupAll()
  }
}

function writeResults(result: BenchResult, options: Options) {
  mkdirSync(options.out, { recursive: true })
  const json = path.join(options.out, 'latest.json')
  const svg = ratioChartSvg(result)
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(path.join(options.out, 'ratios.svg'), svg)
  writeFileSync(path.join(options.out, 'latest.md'), resultsMarkdown(result, 'ratios.svg'))
  console.log(`\n${resultsMarkdown(result)}`)
  console.log(`results: ${json}`)
  const defaultOut = options.out === path.join(ROOT, 'bench/results')
  const benchmarksJson = path.join(options.out, 'benchmarks.json')
  if (options.updateBenchmarks && !result.complete) {
    if (!existsSync(benchmarksJson)) throw new Error(`--update-benchmarks: there is no ${benchmarksJson} (a full run's results) to update`)
    const full = JSON.parse(readFileSync(benchmarksJson, 'utf8')) as BenchResult
    writeBenchmarks(mergeInto(full, result), options)
    console.log(`merged ${result.workloads.map((workload) => workload.id).join(', ')} into ${benchmarksJson}`)
  } else if (options.updateBenchmarks || (options.benchmarksMd ?? (result.complete && defaultOut))) {
    writeBenchmarks(result, options)
  }
}

/** BENCHMARKS.md and its own copies of the numbers and the chart, so that later partial runs (latest.*) leave BENCHMARKS.md's alone. */
function writeBenchmarks(result: BenchResult, options: Options) {
  const chart = path.join(options.out, 'benchmarks-ratios.svg')
  writeFileSync(chart, ratioChartSvg(result))
  writeFileSync(path.join(options.out, 'benchmarks.json'), `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), benchmarksMarkdown(result, path.relative(ROOT, chart)))
  console.log(`rewrote ${path.join(ROOT, 'BENCHMARKS.md')}`)
}

main().then(
  // Do not wait for stray handles (a socket of a failed workload): everything is stopped and cleaned up.
  () => process.exit(),
  async (error: unknown) => {
    console.error(describeError(error))
    await cleanupAll()
    process.exit(1)
  }
)
