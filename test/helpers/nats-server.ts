import { binaryProblem, startDaemon, type Daemon } from './daemon.js'

/**
 * A private NATS server (Debian's `nats-server`) on a free port, for tests
 * that stop and start the bus: killed by the test, or when the process exits.
 */
export const NATS_SERVER = process.env.TEST_NATS_SERVER ?? 'nats-server'

/** Why a private NATS server cannot be started here, or undefined if it can. */
export const natsServerProblem = (): string | undefined => binaryProblem(NATS_SERVER, 'nats-server')

export interface NatsServer extends Daemon {
  /** nats://127.0.0.1:<port>, without credentials. */
  url: string
}

/** `args`: more of nats-server's options (`--user`, `--pass`, `--auth`…). */
export async function startNatsServer(args: string[] = []): Promise<NatsServer> {
  const daemon = await startDaemon({ binary: NATS_SERVER, args: (port) => ['-a', '127.0.0.1', '-p', String(port), ...args], readyLine: 'Server is ready' })
  return { ...daemon, url: `nats://127.0.0.1:${daemon.port}` }
}
