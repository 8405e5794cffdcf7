import { connect, type ConnectionOptions, type NatsConnection } from 'nats'
import type { Bus, BusOptions } from './bus.js'

/** How long closing waits for the last messages to reach a server that does not answer. */
const CLOSE_WAIT_MS = 1000

/**
 * The client's options for `nats://[user:password@]host[:4222]` (or
 * `nats://token@host`), and `tls://…`, which requires TLS (the system's CAs,
 * plus NODE_EXTRA_CA_CERTS). The NATS client takes neither credentials nor
 * the scheme from a server URL, hence this.
 */
export function natsOptions(url: string): ConnectionOptions {
  const parsed = new URL(url)
  const user = decodeURIComponent(parsed.username)
  const pass = decodeURIComponent(parsed.password)
  return {
    servers: `${parsed.hostname}:${parsed.port || '4222'}`,
    ...(user !== '' && pass === '' ? { token: user } : {}),
    ...(user !== '' && pass !== '' ? { user, pass } : {}),
    ...(parsed.protocol === 'tls:' ? { tls: {} } : {}),
    name: 'roost',
    timeout: 5000,
    // Unreachable at start: connect() rejects (no waiting). Later: retried every 2 s or so, forever.
    waitOnFirstConnect: false,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 2000,
    // A server that stopped answering (no reset) is noticed in about 30 s, then reconnected to.
    pingInterval: 10_000,
    maxPingOut: 2
  }
}

/**
 * The bus over NATS core pub/sub: one connection publishes and listens (NATS
 * keeps one connection's messages in order, and delivers them to that
 * connection too). At most once, as Redis pub/sub: what is published while
 * the server is away is dropped at reconnection, and clients catch up from
 * their cursors.
 */
export function natsBus({ url, channel, onMessage, onError }: BusOptions): Bus {
  // `channel` is a plain subject (checkConfiguration): no wildcard, heard by Roost alone.
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  const connecting = connect(natsOptions(url))
  let connection: NatsConnection | undefined
  let up = false

  const ready = (async () => {
    const nc = await connecting
    connection = nc
    nc.subscribe(channel, {
      callback: (error, message) => {
        if (error) onError(error)
        else onMessage(decoder.decode(message.data))
      }
    })
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') up = false
        if (status.type === 'reconnect') up = true
        if (status.type === 'disconnect' || status.type === 'error') onError(new Error(`NATS ${status.type}: ${String(status.data)}`))
      }
    })()
    void nc.closed().then((error) => error && onError(error))
    // The server has the subscription: whatever is published from now on is heard.
    await nc.flush()
    up = true
  })()

  // Every publish of one tick waits on one PING after them all (the server answers in order).
  let flushing: Promise<void> | undefined
  return {
    name: 'NATS',
    ready,
    get connected() {
      return up && connection !== undefined && !connection.isClosed()
    },
    publish(text) {
      const nc = connection
      if (nc === undefined) return Promise.reject(new Error('NATS is not connected'))
      try {
        nc.publish(channel, encoder.encode(text))
      } catch (error) {
        return Promise.reject(error)
      }
      flushing ??= Promise.resolve().then(() => {
        flushing = undefined
        return nc.flush()
      })
      return flushing
    },
    async close() {
      const nc = await connecting.catch(() => undefined)
      if (nc === undefined || nc.isClosed()) return
      // drain: the last messages are sent, then the connection closes; a server that does not answer is not waited for.
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS)
      })
      await Promise.race([nc.drain().catch(() => undefined), late])
      clearTimeout(timer)
      if (!nc.isClosed()) await nc.close()
    }
  }
}
