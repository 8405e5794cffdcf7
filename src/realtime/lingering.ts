import type { Server } from 'socket.io'
import { websocketOf, type EngineConnection, type WsSocket } from './buffer-limit.js'

/**
 * When engine.io ends a connection (heartbeat timeout, buffer bound, server
 * shutdown), ws closes its websocket politely: a close frame, then up to 30
 * seconds waiting for the peer's. A peer that stopped reading never answers,
 * so its TCP connection, and what ws still holds for it, would linger that
 * long (and keep `server.close()` waiting). Here a websocket still open
 * `LINGER_MS` after its connection ended is destroyed; a peer that does read
 * has long finished the handshake by then.
 */
const LINGER_MS = 1000

export class Lingering {
  private readonly open = new Set<WsSocket>()

  watch(io: Server): void {
    io.on('connection', (socket) => {
      const connection = socket.conn as unknown as EngineConnection
      connection.once('close', () => {
        const websocket = websocketOf(connection)
        if (websocket === undefined || websocket.readyState === CLOSED) return
        this.open.add(websocket)
        const timer = setTimeout(() => this.end(websocket), LINGER_MS)
        timer.unref()
        websocket.once('close', () => {
          clearTimeout(timer)
          this.open.delete(websocket)
        })
      })
    })
  }

  /** Websockets whose connection ended but that are still closing (sending what they hold, then the close handshake). */
  get size(): number {
    return this.open.size
  }

  /** Destroys every websocket still closing (at shutdown, after the sockets' grace). */
  endAll(): void {
    for (const websocket of this.open) this.end(websocket)
  }

  private end(websocket: WsSocket): void {
    this.open.delete(websocket)
    websocket.terminate()
  }
}

/** ws's readyState of a closed websocket. */
const CLOSED = 3
