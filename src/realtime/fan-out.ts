import type { RealTimeConnection } from '@feathersjs/feathers'
import type { Server, Socket } from 'socket.io'

/**
 * Sends one event to a whole audience of connections at once, through
 * socket.io's broadcast: the packet is encoded once (and its websocket frame
 * built once), then handed to each connection's engine.io socket.
 *
 * Why not Feathers' dispatch: it calls `socket.emit` per connection, so
 * socket.io encodes the same event once per socket (its JSON, the binary
 * check, the engine.io packet, the websocket frame). With 1,000 subscribers of
 * one collection that was most of the CPU of every write, on the event loop
 * the writes themselves need (issue 15).
 *
 * What stays the same: the audience is still decided by the publisher, per
 * event, from the current members (channels.ts); the frames on the wire are
 * byte for byte those `socket.emit(eventName, data)` sends (the same packet,
 * through the same encoder); each connection's packets still go through its
 * own engine.io socket, so the bound on what is buffered for it
 * (buffer-limit.ts) and the closing of dead connections apply as before.
 */
export class FanOut {
  private io: Server | undefined
  private readonly sockets = new WeakMap<RealTimeConnection, Socket>()

  /** Learns each socket.io socket's Feathers connection (its `params`), as Feathers does for its own dispatch. */
  watch(io: Server): void {
    this.io = io
    io.on('connection', (socket) => {
      const connection = (socket as unknown as { feathers?: RealTimeConnection }).feathers
      if (connection !== undefined) this.sockets.set(connection, socket)
    })
  }

  /** `eventName` with `data` to every connection given that is still connected, each once. */
  send(eventName: string, data: unknown, connections: Iterable<RealTimeConnection>): void {
    if (this.io === undefined) return
    const ids = new Set<string>()
    for (const connection of connections) {
      const socket = this.sockets.get(connection)
      if (socket?.connected) ids.add(socket.id)
    }
    // Every socket is in a room of its own id: one broadcast to those rooms.
    if (ids.size > 0) this.io.to([...ids]).emit(eventName, data)
  }
}
