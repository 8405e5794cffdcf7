import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'
import { MemoryStorage } from '@feathersjs/authentication-client'
import restClientModule from '@feathersjs/rest-client'
import socketioClientModule from '@feathersjs/socketio-client'
import { createClient as createRedisClient } from 'redis'
import { io } from 'socket.io-client'
import { createClient, type ClientApplication } from '../../src/client.js'
import type { Application } from '../../src/declarations.js'
import { newEmail, type Transport } from '../helpers/clients.js'

const rest = restClientModule.default
const socketio = socketioClientModule.default

let ipCounter = 0
/** A fresh client IP (TEST-NET-2), so that tests do not share counters. */
export const newIp = () => `198.51.100.${++ipCounter}`

/** Opened sockets, to close at the end of a file. */
export type Opened = Array<{ close(): void }>

/**
 * A client of `url` whose requests (REST) or connection (socket.io) come
 * from `ip`, as a trusted proxy reports it (the servers run with `trustProxy`).
 */
export function from(url: string, transport: Transport, ip: string, opened: Opened): ClientApplication {
  const headers = { 'x-forwarded-for': ip }
  if (transport === 'rest') {
    const viaProxy: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } })
    return createClient(rest(url).fetch(viaProxy), { storage: new MemoryStorage() })
  }
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: headers })
  opened.push({ close: () => socket.disconnect() })
  return createClient(socketio(socket as never), { storage: new MemoryStorage() })
}

/** An account made on the server side (an internal call: no limits counted). */
export async function account(app: Application) {
  const email = newEmail()
  const password = `pw-${randomBytes(6).toString('hex')}`
  const user = await app.service('users').create({ email, password }, {})
  return { id: String(user.id), email, password }
}

/** Signs `client` in as `who`. */
export async function signIn(client: ClientApplication, who: { email: string; password: string }): Promise<ClientApplication> {
  await client.authenticate({ strategy: 'local', email: who.email, password: who.password })
  return client
}

/** The names of the collections `client`'s user can see (a read: never counted). */
export async function collectionNames(client: ClientApplication): Promise<string[]> {
  const found = (await client.service('collections').find({})) as unknown as Array<{ name?: string }> | { data: Array<{ name?: string }> }
  return (Array.isArray(found) ? found : found.data).map((collection) => collection.name ?? '')
}

/** A raw REST write (to read the Retry-After header the Feathers client hides). */
export async function rawCreateCollection(url: string, ip: string, accessToken: string, name: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/collections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}`, 'x-forwarded-for': ip, ...headers },
    body: JSON.stringify({ name })
  })
}

/** A Redis server of its own on a free port (to stop in the middle of a test), with no persistence. */
export async function startRedis(): Promise<{ url: string; pause(): void; kill(): void }> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const url = `redis://127.0.0.1:${port}`
  const running = () => child.exitCode === null && child.signalCode === null
  const kill = () => {
    if (running()) child.kill('SIGKILL')
  }
  // SIGSTOP: its connections stay open and it answers nothing, as a hung server would.
  const pause = () => {
    if (running()) child.kill('SIGSTOP')
  }
  // Last resort if the worker exits without the test's clean-up: never leave a Redis behind.
  process.once('exit', kill)
  const deadline = Date.now() + 5000
  for (;;) {
    const probe = createRedisClient({ url, socket: { reconnectStrategy: false } })
    probe.on('error', () => undefined)
    try {
      await probe.connect()
      await probe.close()
      return { url, pause, kill }
    } catch (error) {
      if (probe.isOpen) probe.destroy()
      if (Date.now() > deadline) {
        kill()
        throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
