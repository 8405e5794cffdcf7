import socketio from '@feathersjs/socketio'
import type { Server } from 'socket.io'
import type { Application } from '../declarations.js'
import { closeNow, limitBufferedBytes, type EngineConnection } from './buffer-limit.js'
import { socketClientIp } from '../auth/client-ip.js'
import { engineSecurityHeaders } from '../http/security-headers.js'
import { Lingering } from './lingering.js'
import { FanOut } from './fan-out.js'
import { socketConnectionIds } from '../request-log.js'

export { limitSocketsPerUser } from './socket-quota.js'

/**
 * The socket.io transport, with what keeps one connection from costing the
 * server without bound: a largest message (`limits.requestBytes`), a bound
 * on what is buffered for it (`realtime.maxBufferedBytes`, buffer-limit.ts),
 * and heartbeats: engine.io pings every `realtime.pingIntervalMilliseconds`
 * and closes a connection that has not answered within
 * `realtime.pingTimeoutMilliseconds` (its websocket destroyed soon after if
 * the peer does not finish closing: lingering.ts).
 */
export const realtime = (app: Application): void => {
  const lingering = new Lingering()
  lingerings.set(app, lingering)
  const fanOut = new FanOut()
  fanOuts.set(app, fanOut)
  const origins = app.get('origins')
  const { pingIntervalMilliseconds, pingTimeoutMilliseconds } = app.get('realtime')
  // One event carries up to a whole record: a bound under two of them would
  // close every subscriber of large records, so it is never set lower.
  const maxBufferedBytes = Math.max(app.get('realtime').maxBufferedBytes, 2 * app.get('limits').recordBytes)
  app.configure(
    socketio(
      {
        cors: { origin: origins.includes('*') ? '*' : origins },
        maxHttpBufferSize: app.get('limits').requestBytes,
        pingInterval: pingIntervalMilliseconds,
        pingTimeout: pingTimeoutMilliseconds
      },
      (io: Server) => {
        // The client's address (params.ip) for the sign-in and sign-up limits.
        io.use(socketClientIp(app.get('trustProxy')))
        // The connection's id in every call's log lines (request-log.ts).
        io.use(socketConnectionIds)
        engineSecurityHeaders(io)
        limitBufferedBytes(io, maxBufferedBytes, app.get('logger'))
        lingering.watch(io)
        fanOut.watch(io)
      }
    )
  )
}

/**
 * Closes every socket.io connection from the server side, as a lost
 * connection (not a socket.io "disconnect" packet, after which clients would
 * not reconnect): clients reconnect by themselves, to another instance or to
 * this one once it is back. Politely first (what is queued for a connection,
 * answers included, is sent before its transport closes); whatever is still
 * open after `graceMs` (a client that does not read) is cut. The HTTP
 * server is left to its owner.
 */
export async function closeConnections(app: Application, graceMs: number): Promise<void> {
  const io = (app as unknown as { io?: Server }).io
  if (io === undefined) return
  const open = () => Object.values((io.engine as unknown as { clients: Record<string, EngineConnection> }).clients)
  const lingering = lingerings.get(app)
  for (const connection of open()) connection.close()
  // engine.io lets go of a connection as soon as its websocket starts closing;
  // the websocket still has to send what it holds (the last answers): wait for both.
  const deadline = Date.now() + graceMs
  while ((open().length > 0 || (lingering?.size ?? 0) > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  for (const connection of open()) closeNow(connection)
  lingering?.endAll()
}

const lingerings = new WeakMap<Application, Lingering>()
const fanOuts = new WeakMap<Application, FanOut>()

/** How channels.ts sends its high-volume events: one encoding per audience (fan-out.ts). */
export function fanOutOf(app: Application): FanOut {
  const fanOut = fanOuts.get(app)
  if (fanOut === undefined) throw new Error('realtime is not configured on this app')
  return fanOut
}
