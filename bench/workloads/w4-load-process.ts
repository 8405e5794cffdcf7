/**
 * A load process of W4 and W4k (fan-out), run by the benchmark as a child
 * (w4-load.ts) and driven over its IPC channel: either subscribers (socket.io
 * clients that tally the events they hear) or the writer. They run apart so
 * that each measures the server rather than the others' work: the writer's
 * latency is not its process decoding a thousand sockets' events, and a
 * thousand subscribers are spread over processes (cores) instead of queueing
 * behind each other on one event loop. Times that cross processes (a write
 * sent here, its event heard there) are read on the shared clock (lib/clock.ts).
 */
import { io, type Socket } from 'socket.io-client'
import { sharedClock } from '../lib/clock.js'
import { HttpClient } from '../lib/http.js'
import { payload, type Payload } from '../lib/payload.js'
import { sleep } from '../lib/stats.js'
import { writeRecord, type Slot } from './common.js'

/** Where the server is and how to sign in (Roost), or not (plain Feathers). */
export interface ServerAddress {
  kind: 'roost' | 'feathers'
  url: string
  accessToken?: string
}

export type LoadRequest =
  | { op: 'clock' }
  | { op: 'subscribe'; server: ServerAddress; collectionId: string; count: number }
  /** From now on count the events of writes numbered `first` and later (earlier ones: the warm-up). */
  | { op: 'listen'; first: number }
  | { op: 'count' }
  | { op: 'report' }
  | { op: 'write'; server: ServerAddress; slots: Slot[]; first: number; rate: number; seconds: number }
  | { op: 'close' }

export interface WriteReport {
  writes: number
  latencies: number[]
  elapsedMs: number
  /** The slots with the versions the writes left them at. */
  slots: Slot[]
}

export interface ListenReport {
  received: number
  /** Milliseconds from each write being sent to its event being heard, one per event heard. */
  latencies: number[]
}

/** A request as sent over IPC, and its answer. */
export interface LoadMessage {
  id: number
  request: LoadRequest
}
export type LoadAnswer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

/** Feathers' socket protocol: a service call is an emit with an acknowledgement. */
const call = (socket: Socket, method: string, path: string, data: unknown) =>
  new Promise<unknown>((resolve, reject) =>
    socket.emit(method, path, data, (error: unknown, result: unknown) => (error ? reject(new Error(JSON.stringify(error))) : resolve(result)))
  )

const sockets: Socket[] = []
let tally: { first: number; received: number; latencies: number[] } = { first: Number.POSITIVE_INFINITY, received: 0, latencies: [] }

function heard(data: Payload): void {
  const at = sharedClock()
  if (data.n < tally.first || data.t === undefined) return
  tally.received++
  tally.latencies.push(at - data.t)
}

async function subscribe(server: ServerAddress, collectionId: string): Promise<Socket> {
  const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  if (server.kind === 'roost') {
    socket.on('collections change', (event: { record: { data: Payload } }) => heard(event.record.data))
    await call(socket, 'create', 'authentication', { strategy: 'jwt', accessToken: server.accessToken })
    await call(socket, 'create', 'subscriptions', { collectionId })
  } else {
    socket.on('items patched', (item: { data: Payload }) => heard(item.data))
  }
  return socket
}

/** One writer at `rate` writes/s, round-robin over its records (a record's next write waits for its previous one). */
async function write(job: Extract<LoadRequest, { op: 'write' }>): Promise<WriteReport> {
  const { server, slots, first, rate, seconds } = job
  const http = new HttpClient(server.url, server.accessToken === undefined ? {} : { authorization: `Bearer ${server.accessToken}` })
  const target = { kind: server.kind, http }
  const interval = 1000 / rate
  const total = Math.round(seconds * rate)
  const chains = slots.map(() => Promise.resolve())
  const latencies: number[] = []
  let failure: unknown
  const start = sharedClock()
  try {
    for (let index = 0; index < total && failure === undefined; index++) {
      await sleep(start + index * interval - sharedClock())
      const slot = index % slots.length
      const n = first + index
      chains[slot] = chains[slot]
        .then(async () => {
          const sent = sharedClock()
          await writeRecord(target, slots[slot], payload(n, sent))
          latencies.push(sharedClock() - sent)
        })
        .catch((error: unknown) => {
          failure ??= error
        })
    }
    await Promise.all(chains)
  } finally {
    http.close()
  }
  if (failure !== undefined) throw failure
  return { writes: total, latencies, elapsedMs: sharedClock() - start, slots }
}

async function answer(request: LoadRequest): Promise<unknown> {
  switch (request.op) {
    case 'clock':
      return sharedClock()
    case 'subscribe':
      for (let from = 0; from < request.count; from += 20) {
        const count = Math.min(20, request.count - from)
        sockets.push(...(await Promise.all(Array.from({ length: count }, () => subscribe(request.server, request.collectionId)))))
      }
      return sockets.length
    case 'listen':
      tally = { first: request.first, received: 0, latencies: [] }
      return undefined
    case 'count':
      return tally.received
    case 'report': {
      const report: ListenReport = { received: tally.received, latencies: tally.latencies }
      return report
    }
    case 'write':
      return write(request)
    case 'close':
      for (const socket of sockets.splice(0)) socket.disconnect()
      return undefined
  }
}

if (process.send !== undefined) {
  // Stopped by the benchmark (SIGTERM): exit normally, so that BENCH_CPU_PROF's profile of this process is written.
  process.on('SIGTERM', () => process.exit(0))
  // child-probe.ts lets go of the channel (so it alone does not keep a process alive); this one waits for requests.
  process.channel?.ref()
  process.on('message', (message: Partial<LoadMessage>) => {
    if (typeof message?.id !== 'number' || message.request === undefined) return
    const { id, request } = message as LoadMessage
    answer(request).then(
      (result) => process.send?.({ id, ok: true, result } satisfies LoadAnswer),
      (error: unknown) => process.send?.({ id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies LoadAnswer)
    )
  })
  // Messages that come before a listener is there are lost (child-probe.ts's already reads the channel): say when to start.
  process.send({ ready: true })
}
