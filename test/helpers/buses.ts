import { connect, type NatsConnection } from 'nats'
import { createClient } from 'redis'
import { natsOptions } from '../../src/realtime/bus/nats.js'
import { describe, it } from 'vitest'
import { describePostgres, type TestBackend } from './backends.js'
import { REDIS_URL, redisProblem } from './instances.js'

/** The NATS server the several-instance tests use (TEST_NATS_URL, or the machine's own). */
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222'

/** A test's own connection to a bus channel: what crosses it, and a way to put something else on it. */
export interface Tap {
  /** Every message heard on the channel since the tap opened, as the bus carries it. */
  heard: string[]
  publish(text: string): Promise<void>
  close(): Promise<void>
}

/** A realtime bus the several-instance tests run on (SYNC_URL's schemes). */
export interface TestBus {
  name: 'Redis' | 'NATS'
  /** sync.url for the instances. */
  url: string
  /** Why it cannot be used here, or undefined if it can. */
  problem: string | undefined
  /** sync.url naming `password` for a server that is not there (at `port`). */
  unreachable(port: number, password: string): string
  tap(channel: string): Promise<Tap>
}

const redis: TestBus = {
  name: 'Redis',
  url: REDIS_URL,
  problem: redisProblem,
  unreachable: (port, password) => `redis://roost:${password}@127.0.0.1:${port}`,
  async tap(channel) {
    const heard: string[] = []
    // A subscribed Redis connection cannot publish: one of each.
    const sub = createClient({ url: REDIS_URL })
    const pub = sub.duplicate()
    await Promise.all([sub.connect(), pub.connect()])
    await sub.subscribe(channel, (message) => heard.push(message))
    return {
      heard,
      publish: async (text) => {
        await pub.publish(channel, text)
      },
      async close() {
        await Promise.all([sub.quit(), pub.quit()])
      }
    }
  }
}

/** Connects to the test NATS server, quickly and once (no reconnecting). */
const natsConnection = (): Promise<NatsConnection> =>
  connect({ ...natsOptions(NATS_URL), name: 'roost-test', timeout: 2000, reconnect: false })

const natsProblem: string | undefined = await natsConnection().then(
  async (connection) => {
    await connection.close()
    return undefined
  },
  (error: unknown) => `NATS at ${NATS_URL} is not reachable (${(error as Error).message})`
)

const nats: TestBus = {
  name: 'NATS',
  url: NATS_URL,
  problem: natsProblem,
  unreachable: (port, password) => `nats://roost:${password}@127.0.0.1:${port}`,
  async tap(channel) {
    const heard: string[] = []
    const connection = await natsConnection()
    connection.subscribe(channel, { callback: (error, message) => error ?? heard.push(message.string()) })
    // The server has the subscription before anything is published.
    await connection.flush()
    return {
      heard,
      async publish(text) {
        connection.publish(channel, text)
        await connection.flush()
      },
      close: () => connection.drain()
    }
  }
}

/** Every bus SYNC_URL can name. */
export const BUSES: TestBus[] = [redis, nats]

/**
 * The suite on several instances on PostgreSQL, once per bus: a bus that
 * cannot be reached is skipped with a printed reason (failed under CI=true).
 */
export function describeBuses(title: string, suite: (backend: TestBackend, bus: TestBus) => void): void {
  for (const bus of BUSES) {
    const named = `${title} (over ${bus.name})`
    if (bus.problem === undefined) {
      describePostgres(named, (backend) => suite(backend, bus))
    } else if (process.env.CI === 'true') {
      describe(named, () => {
        it(`needs ${bus.name} under CI`, () => {
          throw new Error(`${bus.problem}; CI=true requires it (set TEST_${bus.name.toUpperCase()}_URL)`)
        })
      })
    } else {
      console.warn(`SKIPPED "${named}": ${bus.problem}. Set TEST_${bus.name.toUpperCase()}_URL to run it.`)
      describe.skip(`${named} (skipped: ${bus.problem})`, () => suite(undefined as never, bus))
    }
  }
}
