import { io, type Socket } from 'socket.io-client'
import { payload, type Payload } from '../lib/payload.js'
import { now, percentile, sleep } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import { createSlots, writeRecord, type Slot } from './common.js'
import type { Metric, RunResult, Settings, Workload, WorkloadId } from './types.js'

const RECORDS = 200
const DRAIN_MS = 3000

/** What the subscribers heard in the current run: writes numbered from `first`. */
interface Tally {
  first: number
  latencies: number[]
  received: number
}

export interface FanoutState {
  sockets: Socket[]
  slots: Slot[]
  next: number
  tally: Tally
}

/** Feathers' socket protocol: a service call is an emit with an acknowledgement. */
const call = (socket: Socket, method: string, path: string, data: unknown) =>
  new Promise<unknown>((resolve, reject) =>
    socket.emit(method, path, data, (error: unknown, result: unknown) => (error ? reject(new Error(JSON.stringify(error))) : resolve(result)))
  )

async function subscribe(target: Target, collectionId: string, tally: () => Tally): Promise<Socket> {
  if (target.kind === 'raw') throw new Error('no realtime without a server')
  const socket = io(target.url, { transports: ['websocket'], forceNew: true, reconnection: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  const heard = (data: Payload) => {
    const current = tally()
    if (data.n < current.first || data.t === undefined) return
    current.received++
    current.latencies.push(now() - data.t)
  }
  if (target.kind === 'roost') {
    socket.on('collections change', (event: { record: { data: Payload } }) => heard(event.record.data))
    await call(socket, 'create', 'authentication', { strategy: 'jwt', accessToken: target.accessToken })
    await call(socket, 'create', 'subscriptions', { collectionId })
  } else {
    socket.on('items patched', (item: { data: Payload }) => heard(item.data))
  }
  return socket
}

/** How many subscribers hear one writer, and how fast it writes. */
interface Audience {
  subscribers: number
  rate: number
}

/** One writer at `rate` writes/s, round-robin over its records (a record's next write waits for its previous one). */
async function write(
  target: Target,
  state: FanoutState,
  rate: number,
  seconds: number
): Promise<{ writes: number; writeLatencies: number[]; elapsedMs: number }> {
  const interval = 1000 / rate
  const total = Math.round(seconds * rate)
  const chains = state.slots.map(() => Promise.resolve())
  const writeLatencies: number[] = []
  let failure: unknown
  const start = now()
  for (let index = 0; index < total && failure === undefined; index++) {
    await sleep(start + index * interval - now())
    const slot = index % state.slots.length
    const n = state.next++
    chains[slot] = chains[slot]
      .then(async () => {
        const sent = now()
        await writeRecord(target, state.slots[slot], payload(n, sent))
        writeLatencies.push(now() - sent)
      })
      .catch((error: unknown) => {
        failure ??= error
      })
  }
  await Promise.all(chains)
  if (failure !== undefined) throw failure
  return { writes: total, writeLatencies, elapsedMs: now() - start }
}

export const FANOUT_METRICS: Metric[] = [
  { key: 'p99Ms', label: 'delivery p99', unit: 'ms', better: 'lower' },
  { key: 'p50Ms', label: 'delivery p50', unit: 'ms', better: 'lower' },
  { key: 'deliveredPercent', label: 'delivered', unit: '%', better: 'higher' },
  { key: 'writesPerSecond', label: 'writes/s', unit: '/s', better: 'higher' },
  { key: 'writeP50Ms', label: 'writer p50', unit: 'ms', better: 'lower' },
  { key: 'writeP99Ms', label: 'writer p99', unit: 'ms', better: 'lower' }
]

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
      return (
        `${intro}${subscribers.toLocaleString('en')} socket.io subscribers; one writer updates records at ${rate} writes/s for ${settings.seconds} s; ` +
        'latency from sending the write to each subscriber receiving its event (all in the load process, one clock), and the writer\'s own request latency. ' +
        'Roost: subscribers authenticate (JWT) and `subscriptions.create({ collectionId })`, the writer `PUT`s with base versions and they hear `collections change`; ' +
        'plain Feathers: every connection hears `items patched` of `PATCH /items/:id`. Raw: no server, no realtime.'
      )
    },
    metrics: FANOUT_METRICS,
    unsupported: (target) => (target.kind === 'raw' ? 'no server, so nothing to deliver events' : undefined),
    async prepare(target, settings) {
      const { subscribers, rate } = audience(settings)
      const [slots] = await createSlots(target, { groups: 1, perGroup: RECORDS })
      const state: FanoutState = { sockets: [], slots, next: 0, tally: { first: Number.POSITIVE_INFINITY, latencies: [], received: 0 } }
      const collectionId = slots[0].collectionId
      for (let from = 0; from < subscribers; from += 20) {
        const count = Math.min(20, subscribers - from)
        state.sockets.push(...(await Promise.all(Array.from({ length: count }, () => subscribe(target, collectionId, () => state.tally)))))
      }
      await write(target, state, rate, Math.min(1, settings.seconds / 4)) // warm-up, not measured
      return state
    },
    async run(target, state, settings): Promise<RunResult> {
      const tally: Tally = { first: state.next, latencies: [], received: 0 }
      state.tally = tally
      const { writes, writeLatencies, elapsedMs } = await write(target, state, audience(settings).rate, settings.seconds)
      const expected = writes * state.sockets.length
      const deadline = now() + DRAIN_MS
      while (tally.received < expected && now() < deadline) await sleep(10)
      return {
        operations: writes,
        values: {
          p99Ms: percentile(tally.latencies, 99),
          p50Ms: percentile(tally.latencies, 50),
          deliveredPercent: (100 * tally.received) / expected,
          writesPerSecond: writes / (elapsedMs / 1000),
          writeP50Ms: percentile(writeLatencies, 50),
          writeP99Ms: percentile(writeLatencies, 99)
        }
      }
    },
    async finish(state) {
      for (const socket of state.sockets) socket.disconnect()
    }
  }
}

export const w4Fanout = fanoutWorkload({
  id: 'W4',
  title: 'Realtime fan-out',
  audience: (settings) => ({ subscribers: settings.subscribers, rate: settings.rate })
})
