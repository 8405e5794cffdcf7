import type { Server } from 'socket.io'
import type { Logger } from '../logger.js'

/**
 * A bound on what the server holds for one socket.io connection that is not
 * reading: past `maxBufferedBytes` the connection is closed, and its client
 * (which reconnects by itself) catches up by pulling from its cursor, the
 * way it does after any disconnection.
 *
 * Without it, a socket that stops reading while events flow (but keeps its
 * TCP connection, or even answers heartbeats) makes the server keep every
 * event for it: engine.io queues packets in `writeBuffer` while its
 * transport waits for the previous write, and ws queues what the kernel did
 * not take (`bufferedAmount`). Both grow without limit.
 *
 * What is counted, for each connection: the packets engine.io has queued and
 * not yet handed to its transport (added up as they are created; the count
 * drops to zero when engine.io flushes the queue to the transport), plus, on
 * the websocket transport, what ws still holds. Strings count by their
 * length (a little under their UTF-8 bytes for non-ASCII text): measuring is
 * kept O(1) per packet. A single burst larger than the bound (a batch commit
 * of many megabytes to a subscriber) closes the connection too; pulling is
 * the better way to catch up on that much anyway.
 */
export function limitBufferedBytes(io: Server, maxBufferedBytes: number, logger: Logger): void {
  io.on('connection', (socket) => {
    const connection = socket.conn as unknown as EngineConnection
    let queued = 0
    let cut = false
    const onPacket = (packet: EnginePacket) => {
      queued += sizeOf(packet.data)
      if (cut || queued + transportBytes(connection) <= maxBufferedBytes) return
      cut = true
      const bufferedBytes = queued + transportBytes(connection)
      const user = (socket as unknown as { feathers?: { user?: { id?: string } } }).feathers?.user?.id
      logger.warn({ user, bufferedBytes, maxBufferedBytes }, 'socket closed: it is not reading its events (realtime.maxBufferedBytes)')
      closeNow(connection)
    }
    connection.on('packetCreate', onPacket)
    connection.on('flush', () => {
      queued = 0
    })
  })
}

/** What the server holds for a connection right now: engine.io's queue plus the websocket's. For tests and logs; O(queued packets). */
export function bufferedBytes(socketConnection: unknown): number {
  const connection = socketConnection as EngineConnection
  return connection.writeBuffer.reduce((sum, packet) => sum + sizeOf(packet.data), 0) + transportBytes(connection)
}

/**
 * Ends the connection at once, dropping what is queued for it: engine.io's
 * `close(true)` discards its queue and closes the transport, and the websocket
 * is destroyed rather than closed politely (a close frame would wait behind
 * the unread data, and ws would keep it all for another 30 seconds).
 */
export function closeNow(connection: EngineConnection): void {
  const websocket = websocketOf(connection)
  connection.close(true)
  websocket?.terminate()
}

const sizeOf = (data: unknown): number =>
  typeof data === 'string' ? data.length : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0

const transportBytes = (connection: EngineConnection): number => websocketOf(connection)?.bufferedAmount ?? 0

export const websocketOf = (connection: EngineConnection): WsSocket | undefined =>
  connection.transport?.name === 'websocket' ? connection.transport.socket : undefined

// The parts of engine.io's Socket and ws's WebSocket used here (typed loosely upstream).
interface EnginePacket {
  type: string
  data?: unknown
}

export interface WsSocket {
  bufferedAmount: number
  readyState: number
  terminate(): void
  once(event: 'close', listener: () => void): void
}

export interface EngineConnection {
  writeBuffer: EnginePacket[]
  transport?: { name: string; socket?: WsSocket }
  close(discard?: boolean): void
  on(event: 'packetCreate', listener: (packet: EnginePacket) => void): void
  on(event: 'flush', listener: () => void): void
  once(event: 'close', listener: () => void): void
}
