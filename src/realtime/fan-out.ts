import type { RealTimeConnection } from '@feathersjs/feathers'
import type { Server, Socket } from 'socket.io'

/**
 * Sends Roost's high-volume events (collections change, lock, member) to
 * whole audiences at once, without keeping the event loop from the writes.
 *
 * Why not Feathers' dispatch: it calls `socket.emit` per connection, so
 * socket.io encodes the same event once per socket, and each event is one
 * write system call per socket. With 1,000 subscribers of one collection
 * that took the whole event loop at 50 writes/s, and the writes themselves
 * waited seconds (issue 15). Here:
 * - an event goes out through socket.io's broadcast: its packet is encoded
 *   once (and its websocket frame built once) per chunk of 64 connections,
 *   not once per connection;
 * - events are sent in rounds, on later turns of the event loop: a round
 *   takes every event published meanwhile, and each connection gets them in
 *   one write (the more events pile up while the server is busy, the fewer
 *   writes per event);
 * - a turn of the event loop sends for about a millisecond (`sliceMs`), then
 *   lets the requests waiting run: what bounds how long a write waits behind
 *   a round is time, not a number of connections (the cost of a connection
 *   varies: one event or twenty, a fast machine or a busy one). Most of that
 *   time is the kernel's: one write system call per connection and round.
 *
 * What stays the same: the audience of each event is decided by its
 * publisher from the current members (channels.ts); events leave in the order
 * they were handed over (`flush` sends whatever is pending before an event
 * sent by Feathers' own dispatch); the frames are byte for byte those of
 * `socket.emit(eventName, data)` (the same packet, through the same encoder);
 * each connection's packets go through its own engine.io socket, so the bound
 * on what is buffered for it (buffer-limit.ts) and the closing of dead
 * connections apply as before.
 */
export class FanOut {
  private io: Server | undefined
  private readonly sockets = new WeakMap<RealTimeConnection, Socket>()
  /** Events handed over and not yet in a round. */
  private pending: QueuedEvent[] = []
  /** The round being sent, some of its connections at a time. */
  private round: Round | undefined
  private scheduled = false
  /**
   * How long one turn of the event loop may spend sending (milliseconds):
   * the longest a round holds up a write waiting for the event loop. At least
   * one chunk of connections goes out per turn, whatever the budget.
   */
  sliceMs = SLICE_MS

  /** Learns each socket.io socket's Feathers connection (its `params`), as Feathers does for its own dispatch. */
  watch(io: Server): void {
    this.io = io
    io.on('connection', (socket) => {
      const connection = (socket as unknown as { feathers?: RealTimeConnection }).feathers
      if (connection !== undefined) this.sockets.set(connection, socket)
    })
  }

  /** Queues `eventName` with `data` for every connection given that is connected now, each once. */
  send(eventName: string, data: unknown, connections: Iterable<RealTimeConnection>): void {
    const ids = new Set<string>()
    for (const connection of connections) {
      const socket = this.sockets.get(connection)
      if (socket?.connected) ids.add(socket.id)
    }
    if (ids.size === 0) return
    this.pending.push({ eventName, data, ids })
    this.schedule()
  }

  /** Sends everything queued, now: the rest of the current round, then what is pending. */
  flush(): void {
    while (this.round !== undefined || this.pending.length > 0) this.step(Number.POSITIVE_INFINITY)
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.step(this.sliceMs)
      if (this.round !== undefined || this.pending.length > 0) this.schedule()
    })
  }

  /**
   * Sends the next connections of the current round (starting a round with
   * every event pending if there is none), a chunk at a time, until `budgetMs`
   * is spent or the round is done: every event of the round to the
   * connections of the chunk in its audience. The rest waits for the next
   * turn of the event loop, so the requests that came meanwhile (writes) run
   * between two turns, however large the audience; a round ends before the
   * next begins, so each connection still gets its events in order.
   */
  private step(budgetMs: number): void {
    const io = this.io
    if (io === undefined) {
      // Not listening (nothing could be queued for a socket then).
      this.pending = []
      return
    }
    if (this.round === undefined) {
      if (this.pending.length === 0) return
      this.round = roundOf(this.pending)
      this.pending = []
    }
    const round = this.round
    const started = performance.now()
    do {
      const chunk = round.connections.slice(round.next, round.next + CHUNK)
      round.next += chunk.length
      sendChunk(io, round, chunk)
    } while (round.next < round.connections.length && performance.now() - started < budgetMs)
    if (round.next >= round.connections.length) this.round = undefined
  }
}

/** Milliseconds one turn of the event loop may spend sending (FanOut.sliceMs). */
const SLICE_MS = 1
/**
 * Connections sent to at once: each chunk costs one encoding of each event
 * (socket.io's broadcast), small next to writing to its connections.
 */
const CHUNK = 64

interface QueuedEvent {
  eventName: string
  data: unknown
  ids: Set<string>
}

interface Round {
  events: QueuedEvent[]
  /** Every connection the round's events go to, each once. */
  connections: string[]
  /** How many of them have been sent to. */
  next: number
}

function roundOf(events: QueuedEvent[]): Round {
  const all = new Set<string>()
  for (const { ids } of events) for (const id of ids) all.add(id)
  return { events, connections: [...all], next: 0 }
}

/**
 * Every event to the connections of `chunk` in its audience. Several events:
 * each connection's packets are held back until all are queued, then handed
 * to its websocket in one write.
 */
function sendChunk(io: Server, { events, connections }: Round, chunk: string[]): void {
  const held = events.length > 1 ? holdConnections(io, chunk) : []
  try {
    for (const { eventName, data, ids } of events) {
      // An audience as large as the round's is all of it (the round is the union of the audiences).
      const audience = ids.size === connections.length ? chunk : chunk.filter((id) => ids.has(id))
      // Every socket is in a room of its own id: one broadcast (one encoding) per event and chunk.
      if (audience.length > 0) io.to(audience).emit(eventName, data)
    }
  } finally {
    for (const connection of held) release(connection)
  }
}

/**
 * Keeps engine.io from writing to the websockets of these events' audiences
 * until `release`: only connections on the websocket transport that are
 * writing nothing now (the others queue their packets anyway).
 */
function holdConnections(io: Server, ids: Iterable<string>): EngineConnection[] {
  const held: EngineConnection[] = []
  for (const id of ids) {
    const connection = io.sockets.sockets.get(id)?.conn as unknown as EngineConnection | undefined
    const transport = connection?.transport
    if (connection === undefined || transport?.name !== 'websocket' || !transport.writable || netSocketOf(connection) === undefined) continue
    transport.writable = false
    held.push(connection)
  }
  return held
}

/** Hands everything engine.io queued for `connection` to its websocket, as one write to the TCP socket. */
function release(connection: EngineConnection): void {
  const transport = connection.transport
  if (transport === undefined) return
  transport.writable = true
  if (connection.readyState !== 'open') return
  const net = netSocketOf(connection)
  net?.cork()
  try {
    connection.flush()
  } finally {
    net?.uncork()
  }
}

const netSocketOf = (connection: EngineConnection): NetSocket | undefined => {
  const net = connection.transport?.socket?._socket
  return net !== null && net !== undefined && typeof net.cork === 'function' ? net : undefined
}

// The parts of engine.io's Socket, its websocket transport and ws's WebSocket used here (private or typed loosely upstream).
interface NetSocket {
  cork(): void
  uncork(): void
}

interface EngineConnection {
  readyState: string
  transport?: { name: string; writable: boolean; socket?: { _socket?: NetSocket | null } }
  flush(): void
}
