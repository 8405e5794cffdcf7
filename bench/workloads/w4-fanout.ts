import { io, type Socket } from 'socket.io-client'
import { payload, type Payload } from '../lib/payload.js'
import { now, percentile, sleep } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import { createSlots, writeRecord, type Slot } from './common.js'
import type { RunResult, Settings, Workload } from './types.js'

const RECORDS = 200
const DRAIN_MS = 3000

/** What the subscribers heard in the current run: writes numbered from `first`. */
interface Tally {
  first: number
  latencies: number[]
  received: number
}

interface State {
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

/** One writer at `rate` writes/s, round-robin over its records (a record's next write waits for its previous one). */
async function write(target: Target, state: State, settings: Settings): Promise<{ writes: number; writeLatencies: number[]; elapsedMs: number }> {
  const interval = 1000 / settings.rate
  const total = Math.round(settings.seconds * settings.rate)
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

export const w4Fanout: Workload<State> = {
  id: 'W4',
  title: 'Realtime fan-out',
  description: (settings: Settings) =>
    `${settings.subscribers} socket.io subscribers; one writer updates records at ${settings.rate} writes/s for ${settings.seconds} s; ` +
    'latency from sending the write to each subscriber receiving its event (all in the load process, one clock). ' +
    'Roost: subscribers authenticate (JWT) and `subscriptions.create({ collectionId })`, the writer `PUT`s with base versions and they hear `collections change`; ' +
    'plain Feathers: every connection hears `items patched` of `PATCH /items/:id`. Raw: no server, no realtime.',
  metrics: [
    { key: 'p99Ms', label: 'delivery p99', unit: 'ms', better: 'lower' },
    { key: 'p50Ms', label: 'delivery p50', unit: 'ms', better: 'lower' },
    { key: 'deliveredPercent', label: 'delivered', unit: '%', better: 'higher' },
    { key: 'writesPerSecond', label: 'writes/s', unit: '/s', better: 'higher' }
  ],
  unsupported: (target) => (target.kind === 'raw' ? 'no server, so nothing to deliver events' : undefined),
  async prepare(target, settings) {
    const [slots] = await createSlots(target, 1, RECORDS)
    const state: State = { sockets: [], slots, next: 0, tally: { first: Number.POSITIVE_INFINITY, latencies: [], received: 0 } }
    const collectionId = slots[0].collectionId
    for (let from = 0; from < settings.subscribers; from += 20) {
      const count = Math.min(20, settings.subscribers - from)
      state.sockets.push(...(await Promise.all(Array.from({ length: count }, () => subscribe(target, collectionId, () => state.tally)))))
    }
    await write(target, state, { ...settings, seconds: Math.min(1, settings.seconds / 4) }) // warm-up, not measured
    return state
  },
  async run(target, state, settings): Promise<RunResult> {
    const tally: Tally = { first: state.next, latencies: [], received: 0 }
    state.tally = tally
    const { writes, writeLatencies, elapsedMs } = await write(target, state, settings)
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
