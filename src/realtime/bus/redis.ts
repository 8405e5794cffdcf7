import { createClient } from 'redis'
import type { Bus, BusOptions } from './bus.js'

/**
 * The bus over Redis pub/sub (redis://, rediss://): one connection publishes,
 * one listens. Our own node-redis clients rather than feathers-sync's Redis
 * adapter: the adapter neither awaits `connect()` nor `publish()`, so Redis
 * being away at start or later would be an unhandled rejection (the process
 * ends); here both are caught, and a Redis away at start rejects `ready`.
 */
/**
 * Events kept for Redis while it is away (sent once it is back). Beyond that
 * they are dropped: an outage under load must not fill the process's memory,
 * and clients catch up from their cursors at the next event they hear.
 */
export const MAX_QUEUED_EVENTS = 10_000

/** The bus's connections' name in Redis's CLIENT LIST (the subscriber's too: its duplicate). */
export const BUS_CLIENT_NAME = 'roost-realtime-bus'

/** The longest close() waits for Redis to take a QUIT (and what is queued before it). */
const CLOSE_WAIT_MS = 1000

export function redisBus({ url, channel, onMessage, onError }: BusOptions): Bus {
  let connected = false
  const pub = createClient({
    url,
    commandsQueueMaxLength: MAX_QUEUED_EVENTS,
    name: BUS_CLIENT_NAME,
    socket: {
      // Away at start: fail (an instance that cannot reach the others should not serve). Later: retried, up to every 2 s.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * (retries + 1), 2000) : cause)
    }
  })
  const sub = pub.duplicate()
  for (const client of [pub, sub]) client.on('error', onError)

  const ready = (async () => {
    await Promise.all([pub.connect(), sub.connect()])
    connected = true
    await sub.subscribe(channel, onMessage)
  })()

  return {
    name: 'Redis',
    ready,
    get connected() {
      return pub.isReady && sub.isReady
    },
    // One connection, answered in order: a publish answered means every earlier one was.
    publish: async (text) => {
      await pub.publish(channel, text)
    },
    async close() {
      // quit: what is still queued for Redis (the last events) is sent first.
      // A client that never connected (or gave up) has nothing to close. One
      // reconnecting (Redis away) is destroyed: quit would wait for Redis to
      // come back, holding the shutdown until shutdownTimeoutSeconds.
      for (const client of [sub, pub]) {
        if (!client.isOpen) continue
        if (!client.isReady) {
          client.destroy()
          continue
        }
        // Redis gone before the client noticed: quit would wait for an answer that never comes.
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), CLOSE_WAIT_MS)
        })
        const outcome = await Promise.race([client.quit().catch(() => 'failed' as const), late])
        clearTimeout(timer)
        if (outcome !== 'OK' && client.isOpen) client.destroy()
      }
    }
  }
}
