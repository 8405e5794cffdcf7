import { randomBytes } from 'node:crypto'
import type { Socket as NetSocket } from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import { MemoryStorage } from '@feathersjs/authentication-client'
import socketioClientModule from '@feathersjs/socketio-client'
import { io, type Socket } from 'socket.io-client'
import type { Server as SocketIoServer } from 'socket.io'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { changesClient, createClient, recordsClient, type ClientApplication } from '../../src/client.js'
import { bufferedBytes } from '../../src/realtime/buffer-limit.js'
import { describeBackends } from '../helpers/backends.js'
import { signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * A socket that stops reading (at the TCP level: its client's net.Socket is
 * paused, so the kernel buffers fill and the server's writes stop
 * completing) while another client writes large records to a collection it
 * is subscribed to. The server must close it once what it holds for it
 * passes `realtime.maxBufferedBytes` (heartbeats are set far beyond the
 * test's length, so they cannot be what closes it), never hold much more
 * than that for it, and give the memory back afterwards.
 *
 * What makes it fail: without realtime/buffer-limit.ts the server kept
 * queueing every event for the paused socket (engine.io's writeBuffer grew
 * by every record written) and never closed it.
 */

const socketio = socketioClientModule.default
const MAX_BUFFERED = 2 * 1024 * 1024
const RECORD_CHARS = 128 * 1024
const WRITERS = 4
const CUT_WITHIN_MS = 15_000

/** The garbage collector, without --expose-gc on the command line. */
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

async function memoryAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

describeBackends('realtime: a socket that stops reading', (backend) => {
  let server: TestServer
  let owner: TestClient
  let reader: { socket: Socket; client: ClientApplication } | undefined

  beforeAll(async () => {
    server = await startServer(backend, {
      limits: { recordBytes: 512 * 1024 },
      realtime: { maxBufferedBytes: MAX_BUFFERED, pingIntervalMilliseconds: 120_000, pingTimeoutMilliseconds: 120_000 }
    })
    owner = await signedIn(server.url, 'rest')
  })
  afterAll(async () => {
    reader?.socket.disconnect()
    owner.close()
    await server.close()
  })

  it('is closed by the server once over realtime.maxBufferedBytes, and the memory comes back', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({ name: 'firehose' })
    const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false })
    const client = createClient(socketio(socket as never), { storage: new MemoryStorage() })
    reader = { socket, client }
    await client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
    const { cursor } = await client.service('subscriptions').create({ collectionId })

    // The server's side of the reader's connection (the owner's only socket).
    const ioServer = (server.app as unknown as { io: SocketIoServer }).io
    const serverSocket = [...ioServer.of('/').sockets.values()].find((candidate) => (candidate as unknown as { feathers?: { user?: { id: string } } }).feathers?.user?.id === owner.user.id)
    expect(serverSocket).toBeDefined()
    const disconnected = new Promise<string>((resolve) => serverSocket!.once('disconnect', resolve))
    let cut = false
    void disconnected.then(() => (cut = true))

    const before = await memoryAfterGc()

    // Stop reading at the TCP level.
    const tcp = (socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket
    tcp.pause()

    const records = recordsClient(owner.client, collectionId)
    let written = 0
    let maxHeld = 0
    const sampler = setInterval(() => {
      if (!cut) maxHeld = Math.max(maxHeld, bufferedBytes(serverSocket!.conn))
    }, 2)
    const started = Date.now()
    const payload = randomBytes(RECORD_CHARS / 2).toString('hex')
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        for (let n = 0; !cut && Date.now() - started < CUT_WITHIN_MS; n++) {
          await records.create({ id: `w${writer}-${n}`, data: { payload } })
          written++
        }
      })
    )
    clearInterval(sampler)
    const reason = await Promise.race([disconnected, new Promise<string>((resolve) => setTimeout(() => resolve('still connected'), 1000))])

    expect(reason, `after ${written} records of ${RECORD_CHARS} bytes`).not.toBe('still connected')
    expect(Date.now() - started).toBeLessThan(CUT_WITHIN_MS)
    // Never much more than the bound held for it: at most one more event.
    expect(maxHeld).toBeLessThanOrEqual(MAX_BUFFERED + RECORD_CHARS + 4096)
    // It really had fallen behind: the server held more than half the bound at some point.
    expect(maxHeld).toBeGreaterThan(MAX_BUFFERED / 2)

    // Memory back within 10% of where it was, once the connection is gone.
    tcp.destroy()
    socket.disconnect()
    reader = undefined
    const after = await memoryAfterGc()
    expect(after, `before ${before}, after ${after}`).toBeLessThan(before * 1.1)

    // The client catches up by pulling from its cursor: nothing was lost.
    const page = await changesClient(owner.client, collectionId).find({ query: { since: cursor, limit: 1000 } })
    expect(page.changes.length).toBe(written)
  }, 30_000)
})

/**
 * Heartbeats: a connection that stops answering (its client's TCP reads
 * paused, nothing else flowing) is closed by the server after
 * realtime.pingIntervalMilliseconds + realtime.pingTimeoutMilliseconds.
 * What makes it fail: heartbeat settings not passed to engine.io (its
 * defaults, 25 s + 20 s, are far beyond this test's bound).
 */
describeBackends('realtime: a connection that stops answering heartbeats', (backend) => {
  let server: TestServer
  let owner: TestClient
  let socket: Socket | undefined

  beforeAll(async () => {
    server = await startServer(backend, { realtime: { pingIntervalMilliseconds: 300, pingTimeoutMilliseconds: 300 } })
    owner = await signedIn(server.url, 'rest')
  })
  afterAll(async () => {
    socket?.disconnect()
    owner.close()
    await server.close()
  })

  it('is closed after pingInterval + pingTimeout', async () => {
    socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false })
    const client = createClient(socketio(socket as never), { storage: new MemoryStorage() })
    await client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
    const ioServer = (server.app as unknown as { io: SocketIoServer }).io
    const serverSocket = [...ioServer.of('/').sockets.values()].find((candidate) => (candidate as unknown as { feathers?: { user?: { id: string } } }).feathers?.user?.id === owner.user.id)
    const disconnected = new Promise<string>((resolve) => serverSocket!.once('disconnect', resolve))

    // Answering for a while: still connected after several heartbeats.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(serverSocket!.connected).toBe(true)

    const pausedAt = Date.now()
    ;(socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket.pause()
    const reason = await Promise.race([disconnected, new Promise<string>((resolve) => setTimeout(() => resolve('still connected'), 3000))])
    expect(reason).toBe('ping timeout')
    expect(Date.now() - pausedAt).toBeLessThan(300 + 300 + 500)
  })
})
