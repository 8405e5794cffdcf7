import { existsSync, readFileSync } from 'node:fs'
import type { Spread } from './lib/stats.js'
import { round } from './lib/stats.js'
import { payloadBytes } from './lib/payload.js'
import { INSTANCE_SOCKETS_PREFIX, PART_CPU_PREFIX, type BenchResult, type Machine, type Ratio, type SeparateRun, type TargetResult, type Versions, type Versus, type WorkloadResult } from './results.js'
import { DEFAULT_SETTINGS, type Settings } from './workloads/types.js'

/** The results as markdown tables, an SVG chart of the ratios, and BENCHMARKS.md. */

const number = (value: number) => (Number.isFinite(value) ? round(value, 3).toLocaleString('en') : '–')

const cell = (spread: Spread | undefined, runs: number) => {
  if (!spread || !Number.isFinite(spread.median)) return '–'
  return runs > 1 ? `${number(spread.median)} (${number(spread.min)}–${number(spread.max)})` : number(spread.median)
}

const BACKENDS = { sqlite: 'SQLite', postgres: 'PostgreSQL', mongodb: 'MongoDB' } as const
const VERSUS = { feathers: 'plain Feathers', raw: 'raw' } as const

/** The ratios to other targets (plain Feathers, raw) only: those the ratio table and chart show. */
const versusOthers = (workload: WorkloadResult) => workload.ratios.filter((ratio) => ratio.versus === 'feathers' || ratio.versus === 'raw')

const headline = (workload: WorkloadResult) => {
  const metric = workload.metrics[0]
  return `${metric.label}${metric.unit === '/s' ? '' : ` (${metric.unit})`}, ${metric.better} is better`
}

function ratioTable(result: BenchResult): string {
  // SQLite and PostgreSQL always (so that the table keeps its shape when one is missing); MongoDB when it ran.
  const backends = (['sqlite', 'postgres', 'mongodb'] as const).filter(
    (backend) => backend !== 'mongodb' || result.workloads.some((workload) => versusOthers(workload).some((ratio) => ratio.backend === backend))
  )
  const columns = backends.flatMap((backend) => (['feathers', 'raw'] as const).map((versus) => ({ backend, versus })))
  const rows = result.workloads
    .filter((workload) => versusOthers(workload).length > 0)
    .map((workload) => {
      const cells = columns.map(({ backend, versus }) => {
        const value = workload.ratios.find((ratio) => ratio.backend === backend && ratio.versus === versus)?.value
        return value === undefined ? '–' : `${number(value)}×`
      })
      return `| ${workload.id} ${workload.title} | ${headline(workload)} | ${cells.join(' | ')} |`
    })
  if (rows.length === 0) return '_No ratios: they need Roost and another target on the same backend._\n'
  return [
    `| Workload | Compared on | ${columns.map(({ backend, versus }) => `${BACKENDS[backend]}: Roost ÷ ${VERSUS[versus]}`).join(' | ')} |`,
    `| --- | --- |${' ---: |'.repeat(columns.length)}`,
    ...rows
  ].join('\n') + '\n'
}

const TWIN = { baseline: 'current ÷ baseline', plain: 'speed-ups ÷ plain' } as const

/**
 * Roost against itself, for every metric: this checkout's over the --baseline
 * checkout's, and with its speed-ups over without; only when those ran.
 */
function twinTable(result: BenchResult): string {
  const twins = (workload: WorkloadResult) => workload.ratios.filter((ratio) => ratio.versus === 'baseline' || ratio.versus === 'plain')
  const present = (backend: Ratio['backend'], versus: Versus) =>
    result.workloads.some((workload) => twins(workload).some((ratio) => ratio.backend === backend && ratio.versus === versus))
  const columns = (['sqlite', 'postgres', 'mongodb'] as const).flatMap((backend) =>
    (['baseline', 'plain'] as const).filter((versus) => present(backend, versus)).map((versus) => ({ backend, versus }))
  )
  if (columns.length === 0) return ''
  const rows = result.workloads.flatMap((workload) =>
    workload.metrics
      .filter((metric) => twins(workload).some((ratio) => ratio.metric === metric.key))
      .map((metric, index) => {
        const cells = columns.map(({ backend, versus }) => {
          const value = workload.ratios.find((ratio) => ratio.backend === backend && ratio.versus === versus && ratio.metric === metric.key)?.value
          return value === undefined ? '–' : `${number(value)}×`
        })
        const unit = metric.unit === '/s' ? '' : ` (${metric.unit})`
        return `| ${index === 0 ? `${workload.id} ${workload.title}` : ''} | ${metric.label}${unit}, ${metric.better} is better | ${cells.join(' | ')} |`
      })
  )
  return [
    '### Roost against itself (ratio of medians)\n',
    'Current: this checkout with its storage speed-ups; baseline: the `@baseline` targets (`--baseline`); ' +
      'plain: the `-plain` targets (this checkout with `ROOST_STORAGE_SHORTCUTS=false`). ' +
      'Above 1× is better where higher is better, below 1× where lower is better.\n',
    [
      `| Workload | Metric | ${columns.map(({ backend, versus }) => `${BACKENDS[backend]}: ${TWIN[versus]}`).join(' | ')} |`,
      `| --- | --- |${' ---: |'.repeat(columns.length)}`,
      ...rows
    ].join('\n') + '\n'
  ].join('\n')
}

/** Which code ran: this checkout, and the baseline's folder and commit when there was one. */
function versionsLine(versions: Versions | undefined): string {
  if (!versions) return ''
  const baseline = versions.baseline ? `; \`@baseline\` targets: ${versions.baseline.dir} at ${versions.baseline.version}` : ''
  return `Code: ${versions.current}${baseline}.\n`
}

function goalTable(result: BenchResult): string {
  const rows = result.workloads.flatMap((workload) =>
    workload.goals.map((goal) => `| ${workload.id} | ${goal.text} | ${goal.actual} | ${goal.pass === undefined ? '–' : goal.pass ? 'yes' : '**no**'} |`)
  )
  if (rows.length === 0) return ''
  return ['| Workload | Target (Roost) | Measured (median) | Met |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n'
}

function workloadTable(workload: WorkloadResult): string {
  if (workload.skipped) return `Skipped: ${workload.skipped}\n`
  const hasDb = workload.targets.some((target) => target.summary.dbCpuPercent)
  const header = [
    'Target',
    ...workload.metrics.map((metric) => `${metric.label}${metric.unit === '/s' ? '' : ` (${metric.unit})`}`),
    'server CPU %',
    'CPU µs/op',
    ...(hasDb ? ['PostgreSQL CPU %'] : []),
    'load gen. CPU %',
    'peak RSS (MiB)'
  ]
  const rows = workload.targets.map((target: TargetResult) => {
    if (target.skipped) return `| ${target.target} | n/a: ${target.skipped} |${' |'.repeat(header.length - 2)}`
    if (target.error) return `| ${target.target} | failed: ${target.error.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} |${' |'.repeat(header.length - 2)}`
    const runs = target.runs.length
    const values = [
      ...workload.metrics.map((metric) => cell(target.summary[metric.key], runs)),
      cell(target.summary.cpuPercent, runs),
      cell(target.summary.cpuUsPerOp, runs),
      ...(hasDb ? [cell(target.summary.dbCpuPercent, runs)] : []),
      cell(target.summary.loadCpuPercent, runs),
      cell(target.summary.peakRssMiB, runs)
    ]
    return `| ${target.target} | ${values.join(' | ')} |`
  })
  return [`| ${header.join(' | ')} |`, `| --- |${' ---: |'.repeat(header.length - 1)}`, ...rows].join('\n') + '\n'
}

/**
 * The targets that report their processes one by one (several instances):
 * each process's CPU % of one core, the Roost instances' CPU per operation
 * (the server CPU the goals compare), and (W4) each instance's sockets.
 */
function partsTable(workload: WorkloadResult): string {
  const keys = (target: TargetResult, prefix: string) => Object.keys(target.summary).filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
  const targets = workload.targets.filter((target) => !target.skipped && !target.error && keys(target, PART_CPU_PREFIX).length > 0)
  if (targets.length === 0) return ''
  const parts = [...new Set(targets.flatMap((target) => keys(target, PART_CPU_PREFIX)))]
  const sockets = [...new Set(targets.flatMap((target) => keys(target, INSTANCE_SOCKETS_PREFIX)))]
  const header = [
    'Target',
    ...parts.map((part) => `${part} CPU %`),
    'Roost CPU µs/op (all instances)',
    ...sockets.map((instance) => `sockets on ${instance}`)
  ]
  const rows = targets.map((target) => {
    const runs = target.runs.length
    const values = [
      ...parts.map((part) => cell(target.summary[`${PART_CPU_PREFIX}${part}`], runs)),
      cell(target.summary.cpuUsPerOp, runs),
      ...sockets.map((instance) => cell(target.summary[`${INSTANCE_SOCKETS_PREFIX}${instance}`], runs))
    ]
    return `| ${target.target} | ${values.join(' | ')} |`
  })
  return [
    'Each process of the several-instance target (server CPU % above is the Roost instances together; nginx: its master and workers; Redis: the whole server, which other clients of it may share):\n',
    [`| ${header.join(' | ')} |`, `| --- |${' ---: |'.repeat(header.length - 1)}`, ...rows].join('\n') + '\n'
  ].join('\n')
}

function settingsLine(result: BenchResult): string {
  const s = result.settings
  return (
    `${s.runs} run(s) per workload and target, median (min–max); W1, W1s, W1e ${s.clients} clients × ${s.seconds} s; ` +
    `W2 ${s.bulkRecords.toLocaleString('en')} records in requests of ${s.bulkChunk}; W3, W3b ${s.feedRecords.toLocaleString('en')} records in pages of ${s.feedPage}; ` +
    `W4 ${s.subscribers} subscribers, ${s.rate} writes/s × ${s.seconds} s; ` +
    // Results from before W4k have no crowd settings.
    (s.crowdSubscribers === undefined ? '' : `W4k ${s.crowdSubscribers.toLocaleString('en')} subscribers, ${s.crowdRate} writes/s × ${s.seconds} s; `) +
    `W5 ${s.batchOperations.toLocaleString('en')} operations in ${s.batchAppends} appends; ` +
    `W6, W6e ${s.syncRecords.toLocaleString('en')} records; W7 ${s.clients} sign-in clients × ${s.seconds} s per phase; W8 ${s.offlineWrites.toLocaleString('en')} offline writes; ` +
    `records of about ${payloadBytes} bytes of JSON.`
  )
}

function machineLine(result: { machine: Machine; durationSeconds: number }): string {
  const m = result.machine
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}; load average ${m.loadAverage} at the start; ${m.date.slice(0, 16).replace('T', ' ')} UTC; took ${Math.round(result.durationSeconds)} s.`
}

/** The sizes a workload's run used (the settings line of a separate run names only its workload's). */
const WORKLOAD_SETTINGS: Partial<Record<WorkloadResult['id'], (s: Settings) => string>> = {
  W6: (s) => `${s.syncRecords.toLocaleString('en')} records`,
  W6e: (s) => `${s.syncRecords.toLocaleString('en')} records`,
  W8: (s) => `${s.offlineWrites.toLocaleString('en')} offline writes`
}

/** Under a workload merged from another run (--update-benchmarks): which run, where, and how busy the machine was. */
function separateRunLine(workload: WorkloadResult, run: SeparateRun): string {
  const size = WORKLOAD_SETTINGS[workload.id]?.(run.settings)
  const busy = run.machine.loadAverage > run.machine.cores / 2 ? ` **Busy machine:** load average ${run.machine.loadAverage} on ${run.machine.cores} cores at its start.` : ''
  return (
    `> **Measured in a separate run**, not in the full run above: \`${run.command}\` (${run.settings.runs} run(s)${size ? `, ${size}` : ''}). ` +
    `Machine: ${machineLine(run)}${busy}${run.note ? ` ${run.note}` : ''}${run.versions ? ` ${versionsLine(run.versions).trim()}` : ''}\n`
  )
}

/** latest.md: every table of one benchmark run. */
export function resultsMarkdown(result: BenchResult, svgPath?: string): string {
  const parts = [
    `Command: \`${result.command}\`\n`,
    `Settings: ${settingsLine(result)}\n`,
    `Machine: ${machineLine(result)}\n`,
    ...(result.versions ? [versionsLine(result.versions)] : []),
    ...(result.note ? [`Note: ${result.note}\n`] : []),
    '### Roost compared (ratio of medians)\n',
    ratioTable(result),
    ...(svgPath ? [`![Roost's headline numbers divided by plain Feathers' and raw's](${svgPath})\n`] : []),
    ...(twinTable(result) ? [twinTable(result)] : []),
    '### The issue\'s targets\n',
    goalTable(result) || '_None measured._\n'
  ]
  for (const workload of result.workloads) {
    const processes = partsTable(workload)
    parts.push(
      `### ${workload.id} ${workload.title}\n`,
      `${workload.description}\n`,
      ...(workload.from ? [separateRunLine(workload, workload.from)] : []),
      workloadTable(workload),
      ...(processes ? [processes] : [])
    )
  }
  return parts.join('\n')
}

/** Warnings about a result that is not a full, quiet run. */
function caveats(result: BenchResult): string {
  const notes: string[] = []
  const changed = (Object.keys(DEFAULT_SETTINGS) as Array<keyof Settings>).filter((key) => result.settings[key] !== DEFAULT_SETTINGS[key])
  if (changed.length > 0) {
    notes.push(`**Shortened run:** ${changed.map((key) => `${key} ${result.settings[key]} (default ${DEFAULT_SETTINGS[key]})`).join(', ')}.`)
  }
  if (result.machine.loadAverage > result.machine.cores / 2) {
    notes.push(`**Busy machine:** the load average was ${result.machine.loadAverage} on ${result.machine.cores} cores when it started, so other processes competed for the CPU.`)
  }
  if (!result.complete) notes.push('**Partial run:** not every workload ran on every target.')
  return notes.length ? `> ${notes.join('\n>\n> ')}\n\n` : ''
}

/** BENCHMARKS.md: how to run it, the machine, and the latest full results. */
export function benchmarksMarkdown(result: BenchResult, svgPath: string): string {
  return `# Benchmarks

How fast Roost is next to a plain Feathers v5 app and next to its database used
directly, for the operations a sync server lives on. Everything below is
generated by \`npm run bench\` (the code is in [bench/](bench/)); do not edit this
file by hand: run the benchmark again.

## Running it

\`\`\`sh
npm run bench                                   # everything: about 20 minutes on 2 cores
npm run bench -- --workload W1 --target roost-sqlite --runs 1 --seconds 2
npm run bench -- --help                         # every option
npm run bench -- --workload W6,W8 --target roost-sqlite,roost-postgres --update-benchmarks
npm run bench -- --workload W6,W6e --target roost-sqlite --runs 1 --sync 2000   # encrypted sync next to plaintext
npm run bench -- --workload W1,W2 --target roost-sqlite,roost-postgres --baseline ../roost-before --plain
\`\`\`

\`--update-benchmarks\` measures some workloads again and puts them into this file in
place of the last full run's (they then say which run they come from).

\`--baseline\` and \`--plain\` compare Roost with itself, in one run so that both sides share
the machine's moment (their runs interleave). \`--baseline DIR\` adds
\`roost-sqlite@baseline\` and \`roost-postgres@baseline\` (for the Roost targets
asked for): the server of another checkout of Roost, run from its own folder
(its \`config/\` and \`migrations/\`), say the commit before a change:
\`git worktree add --detach ../roost-before HEAD~1\` and a symlink to this
checkout's \`node_modules\` in it. \`--plain\` adds \`roost-sqlite-plain\` and
\`roost-postgres-plain\`: this checkout with its storage speed-ups switched off
(\`ROOST_STORAGE_SHORTCUTS=false\`), the readable reference path, to show what
the speed-ups buy. The results then have a table "Roost against itself":
current ÷ baseline and speed-ups ÷ plain for every metric, with the commits
measured. Neither is part of the default run.

PostgreSQL targets need a server that \`postgres://postgres@127.0.0.1:5432/postgres\`
(or \`BENCH_POSTGRES_URL\`) reaches with the right to create databases; without
one they are skipped with the reason printed. MongoDB targets
(\`roost-mongodb\`, \`raw-mongodb\`) run when \`BENCH_MONGODB_URL\` names a
replica set (\`mongodb://localhost:27017/?replicaSet=rs0\`; Roost needs
transactions), and are then part of the default run; without it they are
skipped with one line saying why when asked for. Every run writes
\`bench/results/latest.json\` (every run's numbers), \`latest.md\` and \`ratios.svg\`;
a full run also rewrites this file, with its numbers in
\`bench/results/benchmarks.json\`. Run it on a quiet machine: the servers,
PostgreSQL and the load generator share the same cores.

## Targets

Every target gets a fresh database (SQLite in a new temporary folder, or a new
PostgreSQL or MongoDB database \`roost_bench_<random>\` dropped afterwards). Before every
timed run, of any target, every PostgreSQL database in use gets a \`VACUUM\` and
the server a \`CHECKPOINT\`, and the run waits until no autovacuum worker is
busy, so that no run (SQLite's included, on the same two cores) is charged for
cleaning up or writing out what earlier runs left behind. The load
generator is the \`npm run bench\` process itself, with keep-alive HTTP
connections and socket.io clients.

- **roost-sqlite**, **roost-postgres**: the real Roost server (\`src/index.ts\`,
  through tsx's loader, \`NODE_ENV=production\`, \`LOG_LEVEL=silent\`, \`AUTH_SECRET\` set)
  in its own process, signed in as one user. **roost-mongodb**: the same on
  MongoDB (with \`BENCH_MONGODB_URL\`). **roost-sqlite-plain**,
  **roost-postgres-plain** (opt-in, \`--plain\`): the same with
  \`ROOST_STORAGE_SHORTCUTS=false\`; **roost-sqlite@baseline**,
  **roost-postgres@baseline** (\`--baseline DIR\`): DIR's \`src/index.ts\`, run
  in DIR.
- **roost-postgres-x2** (issue 18, W1 and W4 only): two such servers on ONE
  fresh PostgreSQL database, sharing the token secret and data folder, with the
  realtime bus over the local Redis (\`SYNC_URL\`, on a channel of the run's
  own), behind Debian's nginx (started by the benchmark on a free port, with
  the configuration of [docs/DEPLOY.md](docs/DEPLOY.md): round-robin, websockets
  passed through; test/helpers/nginx.ts). Every request and socket goes through nginx, so writes and W4's
  subscribers are spread over both instances (W4 says how many sockets each
  one held, from the operator view). On two cores two instances cannot be
  faster than one, so it measures what scaling costs: its server CPU is the two
  Roost processes' together, per write compared with roost-postgres's in the
  same run (target: at most 1.15×), and W4's delivery p99 with two instances
  against one (at most 2×, with everything delivered). Each process's CPU is
  shown as well: each instance's, nginx's (master and workers, from
  \`/proc\`) and Redis's (the whole server, from \`/proc\`, when it runs on
  this machine: other clients of that Redis count too). It is in the default
  run when Redis (\`BENCH_REDIS_URL\`, default \`redis://127.0.0.1:6379\`) and
  nginx (\`/usr/sbin/nginx\`) are there, and skipped with one line saying why
  otherwise. Every Roost target runs with the per-user and per-IP write limits
  raised out of reach (\`NODE_CONFIG\`), as behind one nginx every write comes
  from one IP.
- **feathers-sqlite**, **feathers-postgres**: a plain Feathers v5 app
  ([bench/targets/feathers-app.ts](bench/targets/feathers-app.ts)): Koa, REST,
  socket.io and one \`items\` service, a stock \`@feathersjs/knex\` KnexService
  (patch: select, update, select again; create in its transaction hooks, so an
  array is all or nothing like Roost's; a find without pagination, so without
  its count, when asked \`$paginate=false\`, as W3 does: its fastest find), with knex configured like Roost's but
  without Roost's prepared-statement cache; no sync logic, no authentication,
  every event to every connection.
- **raw-sqlite**, **raw-postgres**: better-sqlite3 / pg called directly from the
  benchmark process, on a table laid out like Roost's \`records\`, with no HTTP:
  the floor. Their "server" CPU and memory are the benchmark process's.
  **raw-mongodb** (with \`BENCH_MONGODB_URL\`): the \`mongodb\` driver on a
  \`records\` collection laid out like Roost's (W1: one conditional
  \`updateOne({ collectionId, id, version }, …)\`; W2, W5: \`insertMany\` in a
  transaction; W3: \`find\` by position). The MongoDB server's CPU is not
  measured (it may be on another machine).

Server CPU is the user + system time the server process reports for itself
(\`process.cpuUsage()\`, asked over an IPC channel before and after each run), as
a percentage of one core over the run (Node's helper threads can take it above
100%) and per operation. Peak RSS is the process's high-water mark during the
runs (\`VmHWM\`, reset before each run). For PostgreSQL targets the CPU of the
database's backend processes is shown separately (\`/proc/<pid>/stat\`). "Load
gen. CPU" is the benchmark process: if it nears 100%, the client is the
bottleneck. In W4 and W4k, writes/s below the requested rate means the target could
not keep up.

W1s, W3b and W4k vary W1, W3 and W4 for shared collections (each runs alone
too: \`--workload W1s\`). W1s is W1 with every client's records in one
collection (Roost writes with a versioned \`PATCH\`); plain Feathers and raw
have no collection to share and run W1 again, so Roost's ratio to them shows
what sharing costs Roost. Its SQLite goal compares it with W1 of the same run
(W1s ÷ W1 medians; "not measured" when W1 did not run). W3b loads a new
collection in each run and reads it twice before and once after \`ANALYZE\`:
"after load" is the second read, so that it and "after ANALYZE" differ only in
the planner's statistics, not in warm caches (the first read is shown too).
In a full run the table then already has the earlier workloads' rows and
statistics; run alone, it has never been analyzed, which a raw query feels
too. W4k holds 1,000 sockets of the one bench user, so the Roost targets run
with \`realtime.maxSocketsPerUser\` raised (\`NODE_CONFIG\`); the writer's own
p50 and p99 (W4 shows them too) say whether delivering events starves writes.
Its subscribers live in the load generator, so a busy load generator adds to
delivery and writer latency: watch "load gen. CPU".

W1e and W6e are W1 and W6 with end-to-end encryption on (issue 16,
[docs/ENCRYPTION.md](docs/ENCRYPTION.md)), on the Roost targets only (the
others have no notion of encryption), each right after the workload it
varies and compared with it in the same run. In W1e each client's collection
is encrypted (key epoch 1, its key wrapped for the bench user, whose account
keys are made once per target with the client library's
\`roost.account.create()\`), and every write's data is the envelope of W1's
payload, sealed by the load generator right before it is sent (AES-256-GCM
with WebCrypto, inside the write's latency; its CPU is in "load gen. CPU");
its row in the targets table reports W1e ÷ W1 writes/s, with no target to
meet.

To see where a server spends its time, profile it:
\`BENCH_CPU_PROF=/tmp/prof npm run bench -- --workload W1 --target roost-sqlite\`
writes a \`.cpuprofile\` per server process into \`/tmp/prof\` (open it in Chrome
DevTools or VS Code).

## The client library (W6, W6e, W8)

W6, W6e and W8 measure the offline-first client library (\`roost/client\`,
[docs/CLIENT.md](docs/CLIENT.md)) against the Roost targets only (the other
targets have no client library); the client runs in the benchmark process
(W6's IndexedDB store: in Chromium), as an app would, signed in with the
target user's token.

- **W6 Initial sync**: a new device opens a collection that holds 10,000
  records (about 200 bytes each) and pulls all of it into an empty store:
  seconds until \`whenSynced()\` resolves, with the benchmark process's peak RSS
  and JS heap growth sampled every 5 ms. Once into the memory store, once
  into the SQLite store (\`roost/client/sqlite\`), and once in headless
  Chromium into the IndexedDB store (\`roost/client/indexeddb\`): a page on an
  origin of its own (the Roost targets allow it by CORS) times
  \`createRoost\` to \`whenSynced()\` itself and reports its JS heap growth
  (\`performance.memory\`); without Chromium, W6 says why and skips that store.
  Target: under 1.5 s.
- **W6e Initial sync of an encrypted collection**: W6 on an end-to-end
  encrypted collection: the same records, each one's data the envelope of
  the same payload (sealed in setup, under key epoch 1). Each new device
  first imports the account's keys with
  \`roost.account.importRecoveryPhrase()\`, not timed (in Chromium by a first
  client on the same IndexedDB database, closed before the timed one starts),
  then opens the collection with \`encrypted: true\`; the time covers fetching
  and unwrapping the collection key and decrypting every record (AES-256-GCM:
  in Node with \`nodeAesGcm\` from \`roost/client/node\`, as a Node app would,
  since Node's WebCrypto costs about 50 µs a call; in Chromium WebCrypto's). Same stores
  and measurements as W6. Target: within 1.5× of W6 (W6e ÷ W6 medians of the
  same run, for each store; "not measured" when W6 did not run).
- **W8 Offline catch-up push**: a client (memory store, REST only) that has
  synced an empty collection goes offline (its \`fetch\` fails), makes 1,000
  writes, and comes back: seconds until its outbox is empty
  (\`whenSynced()\`), and the HTTP requests that took, counted by wrapping the
  \`fetch\` given to the client. Target: under 2 s.

\`--sync N\` (W6, W6e) and \`--offline N\` change their sizes.

## Latest results

${caveats(result)}${resultsMarkdown(result, svgPath)}${analysis()}`
}

/** The hand-written profile notes (bench/analysis.md), kept across regenerations. */
function analysis(): string {
  const file = new URL('./analysis.md', import.meta.url)
  return existsSync(file) ? `\n${readFileSync(file, 'utf8')}` : ''
}

/** Bars of Roost ÷ other per workload on a log scale, 1× in the middle. */
export function ratioChartSvg(result: BenchResult): string {
  const workloads = result.workloads.filter((workload) => versusOthers(workload).length > 0)
  const ran = (backend: Ratio['backend']) => workloads.some((workload) => workload.ratios.some((ratio) => ratio.backend === backend))
  // MongoDB's bars only when it ran, so that the usual chart keeps its layout.
  const series = (
    [
      { backend: 'sqlite', versus: 'feathers', color: '#2563eb' },
      { backend: 'sqlite', versus: 'raw', color: '#93c5fd' },
      { backend: 'postgres', versus: 'feathers', color: '#ea580c' },
      { backend: 'postgres', versus: 'raw', color: '#fdba74' },
      { backend: 'mongodb', versus: 'feathers', color: '#16a34a' },
      { backend: 'mongodb', versus: 'raw', color: '#86efac' }
    ] as const
  ).filter((entry) => entry.backend !== 'mongodb' || ran('mongodb'))
  const values = workloads.flatMap((workload) => versusOthers(workload).map((ratio) => ratio.value)).filter((value) => value > 0)
  const group = series.length * 30 + 30
  const low = Math.floor(Math.log10(Math.min(1, ...values)))
  const high = Math.ceil(Math.log10(Math.max(1, ...values)))
  const decades = Math.max(1, high - low)
  const width = Math.max(120 + Math.max(1, workloads.length) * group, 90 + series.length * 170)
  const top = 60
  const plotHeight = 260
  const height = top + plotHeight + 70
  const y = (value: number) => top + plotHeight - ((Math.log10(value) - low) / decades) * plotHeight
  const lines: string[] = []
  const text = (x: number, yy: number, content: string, attributes = '') =>
    lines.push(`<text x="${x.toFixed(1)}" y="${yy.toFixed(1)}" ${attributes}>${escapeXml(content)}</text>`)

  text(width / 2, 24, "Roost's headline number ÷ plain Feathers' and raw's (log scale)", 'text-anchor="middle" font-size="15" font-weight="bold"')
  series.forEach((entry, index) => {
    const x = 70 + index * 170
    lines.push(`<rect x="${x}" y="36" width="12" height="12" fill="${entry.color}"/>`)
    text(x + 18, 46, `${BACKENDS[entry.backend]} ÷ ${VERSUS[entry.versus]}`, 'font-size="12"')
  })
  for (let power = low; power <= high; power++) {
    const value = 10 ** power
    const yy = y(value)
    lines.push(`<line x1="60" x2="${width - 20}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="${power === 0 ? '#111' : '#ddd'}" stroke-width="${power === 0 ? 1.5 : 1}"/>`)
    text(54, yy + 4, `${value >= 1 ? value : value.toString()}×`, 'text-anchor="end" font-size="11"')
  }
  workloads.forEach((workload, position) => {
    const x0 = 80 + position * group
    series.forEach((entry, index) => {
      const ratio = workload.ratios.find((candidate) => candidate.backend === entry.backend && candidate.versus === entry.versus)
      const x = x0 + index * 30
      if (!ratio || !(ratio.value > 0)) {
        text(x + 12, y(1) - 4, 'n/a', 'text-anchor="middle" font-size="9" fill="#888"')
        return
      }
      const y1 = Math.min(y(1), y(ratio.value))
      const barHeight = Math.max(1, Math.abs(y(ratio.value) - y(1)))
      lines.push(`<rect x="${x}" y="${y1.toFixed(1)}" width="24" height="${barHeight.toFixed(1)}" fill="${entry.color}"><title>${escapeXml(`${workload.id} ${BACKENDS[entry.backend]} ÷ ${VERSUS[entry.versus]}: ${number(ratio.value)}×`)}</title></rect>`)
      const labelY = ratio.value >= 1 ? y1 - 3 : y1 + barHeight + 11
      text(x + 12, labelY, number(ratio.value), 'text-anchor="middle" font-size="9"')
    })
    text(x0 + (group - 36) / 2, top + plotHeight + 22, `${workload.id} ${workload.title}`, 'text-anchor="middle" font-size="12" font-weight="bold"')
    text(x0 + (group - 36) / 2, top + plotHeight + 38, `${workload.metrics[0].label}`, 'text-anchor="middle" font-size="11"')
    text(x0 + (group - 36) / 2, top + plotHeight + 52, `(${workload.metrics[0].better} is better)`, 'text-anchor="middle" font-size="11" fill="#555"')
  })
  if (workloads.length === 0) text(width / 2, top + plotHeight / 2, 'no ratios in this run', 'text-anchor="middle" font-size="13" fill="#888"')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${lines.join('\n')}
</svg>
`
}

const escapeXml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
