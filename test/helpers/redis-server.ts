import { binaryProblem, startDaemon, type Daemon } from './daemon.js'

/**
 * A private Redis (Debian's `redis-server`) on a free port, for tests that
 * stop and start the bus: nothing saved to disk, killed by the test.
 */
export const REDIS_SERVER = process.env.TEST_REDIS_SERVER ?? 'redis-server'

/** Why a private Redis cannot be started here, or undefined if it can. */
export const redisServerProblem = (): string | undefined => binaryProblem(REDIS_SERVER, 'redis-server')

export interface RedisServer extends Daemon {
  url: string
}

export async function startRedisServer(): Promise<RedisServer> {
  const daemon = await startDaemon({
    binary: REDIS_SERVER,
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    readyLine: 'Ready to accept connections'
  })
  return { ...daemon, url: `redis://127.0.0.1:${daemon.port}` }
}
