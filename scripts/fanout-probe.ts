/**
 * Realtime fan-out, measured apart from `npm run bench` (issue 15): a Roost
 * server in its own process (SQLite, or DATABASE_URL), N socket.io
 * subscribers of one collection in this process, and one writer
 * in a process of its own (so its latencies are the server's, not those
 * of the process decoding N sockets' events) creating records at R
 * writes/s for S seconds, open loop (each write sent on time, whatever the
 * previous ones do).
 *
 *   node --import tsx scripts/fanout-probe.ts [--subscribers 1000] [--rate 50] [--seconds 10]
 *        [--server-dir DIR] [--cpu-prof DIR]
 *
 * Prints the writer's p50/p99, the share of events delivered, and the
 * delivery latency (write sent → event received) p50/p99. `--server-dir`
 * runs another checkout's server (a baseline); `--cpu-prof` has the server
 * write a CPU profile there when it stops.
 */
import { fork, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { io, type Socket } from 'socket.io-client'

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

interface WriterJob {
  url: string
  token: string
  collectionId: string
  rate: number
  seconds: number
  prefix: string
}

async function writer({ url, token, collectionId, rate, seconds, prefix }: WriterJob): Promise<number[]> {
  const latencies: number[] = []
  const writes: Array<Promise<void>> = []
  const start = Date.now()
  for (let n = 0; n < rate * seconds; n++) {
    await sleep(start + (n * 1000) / rate - Date.now())
    const sent = Date.now()
    writes.push(
      fetch(`${url}/collections/${collectionId}/records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: `${prefix}${n}`, data: { n, t: sent, text: 'x'.repeat(100) } })
      }).then(async (response) => {
        if (!response.ok) throw new Error(`write ${n}: ${response.status} ${await response.text()}`)
        await response.arrayBuffer()
        latencies.push(Date.now() - sent)
      })
    )
  }
  await Promise.all(writes)
  return latencies
}

if (process.env.FANOUT_PROBE_WRITER !== undefined) {
  const latencies = await writer(JSON.parse(process.env.FANOUT_PROBE_WRITER) as WriterJob)
  process.send!(latencies, () => process.exit(0))
} else {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '10' },
      'server-dir': { type: 'string' },
      'cpu-prof': { type: 'string' }
    }
  })
  const subscribers = Number(values.subscribers)
  const rate = Number(values.rate)
  const seconds = Number(values.seconds)
  const serverDir = path.resolve(values['server-dir'] ?? fileURLToPath(new URL('..', import.meta.url)))

  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const dataDir = mkdtempSync(path.join(tmpdir(), 'roost-fanout-'))
  const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : []
  const server = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/index.ts'], {
    cwd: serverDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      AUTH_SECRET: randomBytes(32).toString('hex'),
      ROOST_DATA_DIR: dataDir,
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      NODE_CONFIG: JSON.stringify({ realtime: { maxSocketsPerUser: subscribers + 10 } })
    }
  })
  const url = `http://127.0.0.1:${port}`
  try {
    for (let tries = 0; ; tries++) {
      try {
        await fetch(url)
        break
      } catch (error) {
        if (tries > 600) throw error
        await sleep(100)
      }
    }
    const post = async <T>(route: string, body: unknown, token?: string): Promise<T> => {
      const response = await fetch(`${url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body)
      })
      if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`)
      return (await response.json()) as T
    }
    const email = `probe-${randomBytes(4).toString('hex')}@example.com`
    const password = randomBytes(12).toString('hex')
    await post('/users', { email, password })
    const { accessToken } = await post<{ accessToken: string }>('/authentication', { strategy: 'local', email, password })
    const { id: collectionId } = await post<{ id: string }>('/collections', {}, accessToken)

    const delivery: number[] = []
    const sockets: Socket[] = []
    const call = (socket: Socket, method: string, route: string, data: unknown) =>
      new Promise((resolve, reject) => socket.emit(method, route, data, (error: unknown, result: unknown) => (error ? reject(new Error(JSON.stringify(error))) : resolve(result))))
    for (let from = 0; from < subscribers; from += 50) {
      const batch = Array.from({ length: Math.min(50, subscribers - from) }, async () => {
        const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
        await new Promise((resolve, reject) => socket.once('connect', () => resolve(undefined)).once('connect_error', reject))
        socket.on('collections change', (event: { record: { data: { t: number } } }) => delivery.push(Date.now() - event.record.data.t))
        await call(socket, 'create', 'authentication', { strategy: 'jwt', accessToken })
        await call(socket, 'create', 'subscriptions', { collectionId })
        return socket
      })
      sockets.push(...(await Promise.all(batch)))
    }

    const write = (job: WriterJob) => new Promise<number[]>((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, FANOUT_PROBE_WRITER: JSON.stringify(job) } })
      child.once('message', (latencies) => resolve(latencies as number[]))
      child.once('error', reject)
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`writer exited with ${code}`))))
    })
    // A second of writes first, not counted: the server's first requests compile and warm up.
    await write({ url, token: accessToken, collectionId, rate, seconds: 1, prefix: 'warm' })
    await sleep(2000)
    delivery.length = 0
    const writes = await write({ url, token: accessToken, collectionId, rate, seconds, prefix: 'w' })
    const expected = writes.length * subscribers
    const deadline = Date.now() + 10_000
    while (delivery.length < expected && Date.now() < deadline) await sleep(20)
    for (const socket of sockets) socket.disconnect()
    const ms = (value: number) => `${value.toFixed(1)} ms`
    console.log(
      [
        `server ${serverDir}: ${subscribers} subscribers, ${rate} writes/s × ${seconds} s`,
        `writer p50 ${ms(percentile(writes, 50))}, p99 ${ms(percentile(writes, 99))}`,
        `delivered ${((100 * delivery.length) / expected).toFixed(2)}% (${delivery.length} of ${expected})`,
        `delivery p50 ${ms(percentile(delivery, 50))}, p99 ${ms(percentile(delivery, 99))}`
      ].join('\n')
    )
  } finally {
    server.kill('SIGINT')
    await new Promise((resolve) => server.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}
