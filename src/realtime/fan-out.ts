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
 *   once (and its websocket frame built once) for its whole audience;
 * - events are sent in rounds, on later turns of the event loop: a round
 *   takes every event published meanwhile, and each connection gets them in
 *   one write (the more events pile up while the server is busy, the fewer
 *   writes per event); a round goes out a slice of connections per turn, so
 *   the writes waiting run between two slices.
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
  /** The round being sent, a slice of its audience at a time. */
  private round: { events: QueuedEvent[]; slices: Array<Set<string>>; next: number } | undefined
  private scheduled = false

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
    this.pending.push({ eventName, data, ids: [...ids] })
    this.schedule()
  }

  /** Sends everything queued, now: the rest of the current round, then what is pending. */
  flush(): void {
    while (this.round !== undefined || this.pending.length > 0) this.step()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.step()
      if (this.round !== undefined || this.pending.length > 0) this.schedule()
    })
  }

  /**
   * Sends one slice of the current round (starting a round with every event
   * pending if there is none): every event of the round to the connections of
   * that slice that are in its audience. The next slice waits for the next
   * turn of the event loop, so a large audience does not hold up the writes
   * for longer than a slice takes; and a round ends before the next begins, so
   * each connection still gets its events in order.
   */
  private step(): void {
    const io = this.io
    if (io === undefined) {
      // Not listening (nothing could be queued for a socket then).
      this.pending = []
      return
    }
    if (this.round === undefined) {
      if (this.pending.length === 0) return
      this.round = { events: this.pending, slices: slicesOf(this.pending), next: 0 }
      this.pending = []
    }
    const { events, slices } = this.round
    const slice = slices[this.round.next++]
    if (this.round.next >= slices.length) this.round = undefined
    // Several events: each connection's packets are held back until all are
    // queued, then handed to its websocket in one write.
    const held = events.length > 1 ? holdConnections(io, slice) : []
    try {
      for (const { eventName, data, ids } of events) {
        const audience = slices.length === 1 ? ids : ids.filter((id) => slice.has(id))
        // Every socket is in a room of its own id: one broadcast (one encoding) per event and slice.
        if (audience.length > 0) io.to(audience).emit(eventName, data)
      }
    } finally {
      for (const connection of held) release(connection)
    }
  }
}

/** Connections sent to in one turn of the event loop. */
const SLICE = 250

interface QueuedEvent {
  eventName: string
  data: unknown
  ids: string[]
}

/** The connections the events go to, each once, in slices of at most SLICE. */
function slicesOf(events: QueuedEvent[]): Array<Set<string>> {
  const all = new Set<string>()
  for (const { ids } of events) for (const id of ids) all.add(id)
  const slices: Array<Set<string>> = []
  let slice = new Set<string>()
  for (const id of all) {
    if (slice.size === SLICE) {
      slices.push(slice)
      slice = new Set()
    }
    slice.add(id)
  }
  slices.push(slice)
  return slices
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
