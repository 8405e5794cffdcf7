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
 * - events are sent on the next turn of the event loop, all those published
 *   meanwhile together, and each connection gets them in one write: the more
 *   events pile up while the server is busy, the fewer writes per event, and
 *   the writes that are waiting run between two rounds of sending.
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
  private pending: Array<{ eventName: string; data: unknown; ids: string[] }> = []
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
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Sends everything queued, now. */
  flush(): void {
    this.scheduled = false
    const events = this.pending
    this.pending = []
    const io = this.io
    if (io === undefined || events.length === 0) return
    // Several events: each connection's packets are held back until all are
    // queued, then handed to its websocket in one write.
    const held = events.length > 1 ? holdConnections(io, events) : []
    try {
      // Every socket is in a room of its own id: one broadcast (one encoding) per event.
      for (const { eventName, data, ids } of events) io.to(ids).emit(eventName, data)
    } finally {
      for (const connection of held) release(connection)
    }
  }
}

/**
 * Keeps engine.io from writing to the websockets of these events' audiences
 * until `release`: only connections on the websocket transport that are
 * writing nothing now (the others queue their packets anyway).
 */
function holdConnections(io: Server, events: Array<{ ids: string[] }>): EngineConnection[] {
  const held: EngineConnection[] = []
  const seen = new Set<string>()
  for (const { ids } of events) {
    for (const id of ids) {
      if (seen.has(id)) continue
      seen.add(id)
      const connection = io.sockets.sockets.get(id)?.conn as unknown as EngineConnection | undefined
      const transport = connection?.transport
      if (connection === undefined || transport?.name !== 'websocket' || !transport.writable || netSocketOf(connection) === undefined) continue
      transport.writable = false
      held.push(connection)
    }
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
