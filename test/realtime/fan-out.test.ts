import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Server } from 'socket.io'
import { membersClient, recordsClient, type ChangeEvent } from '../../src/client.js'
import { fanOutOf } from '../../src/realtime/index.js'
import { describeBackends } from '../helpers/backends.js'
import { eventually, signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * Roost's high-volume events go out once per audience (src/realtime/fan-out.ts),
 * in rounds, not once per connection: every socket allowed to hear still
 * hears every event once, in order, in the very frame a per-socket
 * `socket.emit` sends; nobody else hears anything.
 */

/** A raw socket.io connection, authenticated with `user`'s token, keeping every `collections change` frame as sent. */
async function rawSocket(url: string, user: TestClient) {
  const socket: Socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  const frames: string[] = []
  socket.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
    if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('2["collections change"')) frames.push(packet.data)
  })
  const call = (method: string, path: string, ...args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => socket.emit(method, path, ...args, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))))
  await call('create', 'authentication', { strategy: 'jwt', accessToken: await user.client.authentication.getAccessToken() })
  return { socket, frames, call }
}

describeBackends('realtime fan-out: one encoding per audience', (backend) => {
  let server: TestServer
  let owner: TestClient
  let member: TestClient
  let stranger: TestClient

  beforeAll(async () => {
    // Sockets enough for audiences of several chunks of the fan-out (64 connections each).
    server = await startServer(backend, { realtime: { maxSocketsPerUser: 400 } })
    owner = await signedIn(server.url, 'rest')
    member = await signedIn(server.url, 'rest')
    stranger = await signedIn(server.url, 'rest')
  })
  afterAll(async () => {
    for (const client of [owner, member, stranger]) client.close()
    await server.close()
  })

  it('every allowed socket hears every event once, in order, in the same frame; a stranger hears nothing', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const { id: strangers } = await stranger.client.service('collections').create({})
    await membersClient(owner.client, collectionId).create({ userId: member.user.id, role: 'reader' })

    const listeners = await Promise.all([
      ...Array.from({ length: 4 }, () => rawSocket(server.url, owner)),
      ...Array.from({ length: 8 }, () => rawSocket(server.url, member))
    ])
    for (const { call } of listeners) await call('create', 'subscriptions', { collectionId })
    const outsider = await rawSocket(server.url, stranger)
    await outsider.call('create', 'subscriptions', { collectionId: strangers })
    const unsubscribed = await rawSocket(server.url, member)

    // One multi-record call (its events published together, sent in one
    // round), then single writes as fast as they come (rounds of any size).
    const records = recordsClient(owner.client, collectionId)
    const written = [
      ...(await records.create(Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, data: { i } })))),
      ...(await Promise.all(Array.from({ length: 14 }, (_, i) => records.create({ id: `s${i}`, data: { text: `é ${i} "quoted"` } }))))
    ]

    await eventually(() => listeners.every(({ frames }) => frames.length >= written.length), 'every event on every subscribed socket')
    const expected = listeners[0].frames
    const events = expected.map((frame) => (JSON.parse(frame.slice(1)) as [string, ChangeEvent])[1])
    // Once each, in the order of their positions.
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: written.length }, (_, i) => events[0].seq + i))
    expect(new Set(events.map((event) => event.record.id)).size).toBe(written.length)
    // The payload is the record as written, and the frame is exactly what `socket.emit` encodes.
    const bySeq = new Map(written.map((record) => [record.seq, record]))
    for (const [index, event] of events.entries()) {
      expect(event).toEqual({ collectionId, seq: event.record.seq, cursor: expect.any(String), record: bySeq.get(event.record.seq) })
      expect(expected[index]).toBe(`2${JSON.stringify(['collections change', event])}`)
    }
    for (const { frames } of listeners) expect(frames).toEqual(expected)

    // The stranger's own event as a barrier: socket.io delivers in order on its socket.
    await recordsClient(stranger.client, strangers).create({ data: 'barrier' })
    await eventually(() => outsider.frames.length === 1, "the stranger's own event")
    expect(outsider.frames[0]).toContain(`"collectionId":"${strangers}"`)
    expect(unsubscribed.frames).toEqual([])
    for (const { socket } of [...listeners, outsider, unsubscribed]) socket.disconnect()
  })

  it('an audience larger than one slice: every socket hears every event once, in order, in the same frame', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const listeners: Array<Awaited<ReturnType<typeof rawSocket>>> = []
    for (let from = 0; from < 300; from += 50) listeners.push(...(await Promise.all(Array.from({ length: 50 }, () => rawSocket(server.url, owner)))))
    await Promise.all(listeners.map(({ call }) => call('create', 'subscriptions', { collectionId })))

    const records = recordsClient(owner.client, collectionId)
    const written = [
      ...(await records.create(Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, data: { i } })))),
      ...(await Promise.all(Array.from({ length: 5 }, (_, i) => records.create({ id: `s${i}`, data: i }))))
    ]
    await eventually(() => listeners.every(({ frames }) => frames.length >= written.length), 'every event on every socket')
    const expected = listeners[0].frames
    const seqs = expected.map((frame) => (JSON.parse(frame.slice(1)) as [string, ChangeEvent])[1].seq)
    expect(seqs).toEqual(Array.from({ length: written.length }, (_, i) => seqs[0] + i))
    expect(new Set(seqs)).toEqual(new Set(written.map((record) => record.seq)))
    for (const { frames } of listeners) expect(frames).toEqual(expected)
    for (const { socket } of listeners) socket.disconnect()
  })

  it('a round yields to the event loop between chunks of connections (requests waiting run in between), and every socket still hears all in order', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const listeners: Array<Awaited<ReturnType<typeof rawSocket>>> = []
    for (let from = 0; from < 300; from += 50) listeners.push(...(await Promise.all(Array.from({ length: 50 }, () => rawSocket(server.url, owner)))))
    await Promise.all(listeners.map(({ call }) => call('create', 'subscriptions', { collectionId })))

    // No time for sending in a turn: each turn of the event loop sends one chunk (64 connections), then yields.
    const fanOut = fanOutOf(server.app)
    fanOut.sliceMs = 0
    // Turns of the event loop, counted by an immediate that re-arms itself; and at which turn each connection was written to.
    let turn = 0
    let ticking = true
    const tick = () => {
      turn++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const io = (server.app as unknown as { io: Server }).io
    const flushedAt: number[] = []
    const onFlush = () => flushedAt.push(turn)
    io.engine.on('flush', onFlush)
    try {
      const records = recordsClient(owner.client, collectionId)
      const written = await records.create(Array.from({ length: 3 }, (_, i) => ({ id: `y${i}`, data: { i } })))
      await eventually(() => listeners.every(({ frames }) => frames.length >= written.length), 'every event on every socket')
      const seqs = listeners[0].frames.map((frame) => (JSON.parse(frame.slice(1)) as [string, ChangeEvent])[1].seq)
      expect(seqs).toEqual(written.map((record) => record.seq))
      for (const { frames } of listeners) expect(frames).toEqual(listeners[0].frames)
      // 300 connections written to (once per round each) over 5 turns at least, 64 a turn at most (and a few pings).
      expect(flushedAt.length).toBeGreaterThanOrEqual(300)
      const perTurn = new Map<number, number>()
      for (const at of flushedAt) perTurn.set(at, (perTurn.get(at) ?? 0) + 1)
      expect(perTurn.size).toBeGreaterThanOrEqual(5)
      expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(64 + 5)
    } finally {
      ticking = false
      io.engine.off('flush', onFlush)
      fanOut.sliceMs = 1
      for (const { socket } of listeners) socket.disconnect()
    }
  })
})
