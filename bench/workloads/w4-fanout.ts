import { percentile, sleep, now } from '../lib/stats.js'
import { createSlots, type Slot } from './common.js'
import { startLoadProcess, type LoadProcess } from './w4-load.js'
import type { ListenReport, ServerAddress, WriteReport } from './w4-load-process.js'
import type { Metric, RunResult, Settings, Workload, WorkloadId } from './types.js'
import { INSTANCE_SOCKETS_PREFIX } from '../results.js'

const RECORDS = 200
const DRAIN_MS = 3000
/** Subscribers per load process: a thousand sockets' events keep one Node process busy. */
const SUBSCRIBERS_PER_PROCESS = 500

export interface FanoutState {
  server: ServerAddress
  /** The subscriber processes, and how many subscribers each has. */
  listeners: Array<{ load: LoadProcess; subscribers: number }>
  writer: LoadProcess
  slots: Slot[]
  /** The number of the next write (each write's payload carries its number). */
  next: number
  /** Several instances: the socket.io connections each held once the subscribers were in, by instance. */
  instanceSockets?: Record<string, number>
}

/** How many subscribers hear one writer, and how fast it writes. */
interface Audience {
  subscribers: number
  rate: number
}

export const FANOUT_METRICS: Metric[] = [
  { key: 'p99Ms', label: 'delivery p99', unit: 'ms', better: 'lower' },
  { key: 'p50Ms', label: 'delivery p50', unit: 'ms', better: 'lower' },
  { key: 'deliveredPercent', label: 'delivered', unit: '%', better: 'higher' },
  { key: 'writesPerSecond', label: 'writes/s', unit: '/s', better: 'higher' },
  { key: 'writeP50Ms', label: 'writer p50', unit: 'ms', better: 'lower' },
  { key: 'writeP99Ms', label: 'writer p99', unit: 'ms', better: 'lower' },
  { key: 'loadMaxCpuPercent', label: 'busiest load process CPU', unit: '%', better: 'lower' }
]

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)

/**
 * A fan-out workload: `audience(settings)` subscribers of one collection
 * (connected 20 at a time), one writer at its rate. W4 and W4k are this with
 * different audiences.
 */
export function fanoutWorkload(spec: {
  id: WorkloadId
  title: string
  audience: (settings: Settings) => Audience
  /** What sets this workload apart, said before the common description. */
  intro?: string
}): Workload<FanoutState> {
  const { id, title, audience, intro = '' } = spec
  return {
    id,
    title,
    description: (settings: Settings) => {
      const { subscribers, rate } = audience(settings)
      const processes = Math.ceil(subscribers / SUBSCRIBERS_PER_PROCESS)
      return (
        `${intro}${subscribers.toLocaleString('en')} socket.io subscribers; one writer updates records at ${rate} writes/s for ${settings.seconds} s, open loop. ` +
        `The writer is a process of its own, so its request latency (writer p50/p99) is the server's and not that of a process decoding the subscribers' events; ` +
        `the subscribers are ${processes === 1 ? 'one more process' : `${processes} more processes of up to ${SUBSCRIBERS_PER_PROCESS} each`}. ` +
        'Delivery latency: from the writer sending the write to each subscriber receiving its event, both read on CLOCK_MONOTONIC, the one clock all processes of the machine share (checked when they start). ' +
        'Load gen. CPU adds up the benchmark process and these load processes; "busiest load process CPU" says whether one of them was saturated (then its own lag is in the latencies). ' +
        'Roost: subscribers authenticate (JWT) and `subscriptions.create({ collectionId })`, the writer `PUT`s with base versions and they hear `collections change`; ' +
        'plain Feathers: every connection hears `items patched` of `PATCH /items/:id`. Raw: no server, no realtime.'
      )
    },
    metrics: FANOUT_METRICS,
    unsupported: (target) => (target.kind === 'raw' ? 'no server, so nothing to deliver events' : undefined),
    async prepare(target, settings) {
      if (target.kind === 'raw') throw new Error('no realtime without a server')
      const { subscribers, rate } = audience(settings)
      const [slots] = await createSlots(target, { groups: 1, perGroup: RECORDS })
      const server: ServerAddress = { kind: target.kind, url: target.url, accessToken: target.kind === 'roost' ? target.accessToken : undefined }
      const shares = Array.from({ length: Math.ceil(subscribers / SUBSCRIBERS_PER_PROCESS) }, (_, index) =>
        Math.min(SUBSCRIBERS_PER_PROCESS, subscribers - index * SUBSCRIBERS_PER_PROCESS)
      )
      const started: LoadProcess[] = []
      try {
        const state: FanoutState = { server, listeners: [], writer: await startLoadProcess(), slots, next: 0 }
        started.push(state.writer)
        for (const share of shares) {
          const load = await startLoadProcess()
          started.push(load)
          state.listeners.push({ load, subscribers: share })
        }
        const collectionId = slots[0].collectionId
        await Promise.all(state.listeners.map(({ load, subscribers }) => load.ask({ op: 'subscribe', server, collectionId, count: subscribers })))
        if (target.kind === 'roost' && target.socketsPerInstance) {
          // Behind nginx the subscribers should be spread over the instances (round-robin): said, and kept with every run.
          state.instanceSockets = await target.socketsPerInstance()
          console.log(`  ${target.name}: subscribers' sockets per instance: ${Object.entries(state.instanceSockets).map(([label, n]) => `${label} ${n}`).join(', ')}`)
        }
        await write(state, rate, Math.min(1, settings.seconds / 4)) // warm-up, not measured
        return state
      } catch (error) {
        await Promise.all(started.map((load) => load.stop()))
        throw error
      }
    },
    async run(_target, state, settings): Promise<RunResult> {
      const first = state.next
      await Promise.all(state.listeners.map(({ load }) => load.ask({ op: 'listen', first })))
      const loads = [state.writer, ...state.listeners.map(({ load }) => load)]
      const cpuBefore = await Promise.all(loads.map((load) => load.child.cpuSeconds()))
      const started = now()
      const { writes, latencies: writeLatencies, elapsedMs } = await write(state, audience(settings).rate, settings.seconds)
      const expected = writes * sum(state.listeners.map(({ subscribers }) => subscribers))
      const deadline = now() + DRAIN_MS
      const received = async () => sum(await Promise.all(state.listeners.map(({ load }) => load.ask<number>({ op: 'count' }))))
      while ((await received()) < expected && now() < deadline) await sleep(20)
      const cpu = (await Promise.all(loads.map((load) => load.child.cpuSeconds()))).map((seconds, index) => seconds - cpuBefore[index])
      const wallSeconds = (now() - started) / 1000
      const reports = await Promise.all(state.listeners.map(({ load }) => load.ask<ListenReport>({ op: 'report' })))
      const latencies = reports.flatMap((report) => report.latencies)
      return {
        operations: writes,
        loadCpuSeconds: sum(cpu),
        values: {
          p99Ms: percentile(latencies, 99),
          p50Ms: percentile(latencies, 50),
          deliveredPercent: (100 * sum(reports.map((report) => report.received))) / expected,
          writesPerSecond: writes / (elapsedMs / 1000),
          writeP50Ms: percentile(writeLatencies, 50),
          writeP99Ms: percentile(writeLatencies, 99),
          // Over the writing and the draining.
          loadMaxCpuPercent: (100 * Math.max(...cpu)) / wallSeconds,
          ...Object.fromEntries(Object.entries(state.instanceSockets ?? {}).map(([label, n]) => [`${INSTANCE_SOCKETS_PREFIX}${label}`, n]))
        }
      }
    },
    async finish(state) {
      await Promise.all([state.writer, ...state.listeners.map(({ load }) => load)].map((load) => load.stop()))
    }
  }
}

/** The writer process writes `seconds` at `rate`, numbering the writes on from `state.next`. */
async function write(state: FanoutState, rate: number, seconds: number): Promise<WriteReport> {
  const report = await state.writer.ask<WriteReport>({ op: 'write', server: state.server, slots: state.slots, first: state.next, rate, seconds })
  state.slots = report.slots
  state.next += report.writes
  return report
}

export const w4Fanout = fanoutWorkload({
  id: 'W4',
  title: 'Realtime fan-out',
  audience: (settings) => ({ subscribers: settings.subscribers, rate: settings.rate })
})
