import { createClient } from 'redis'
import { redactedUrl } from '../../src/realtime/bus/index.js'

/**
 * Why the Redis at `url` cannot be used (not reachable, or not answering a
 * PING within 2 s), or undefined if it can: for tests and benchmark targets
 * that need one, to skip or fail with the reason. The password is hidden.
 */
export async function redisProblem(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.ping()
    await client.quit()
    return undefined
  } catch (error) {
    if (client.isOpen) client.destroy()
    return `Redis at ${redactedUrl(url)} is not reachable (${error instanceof Error ? error.message : String(error)})`
  }
}
