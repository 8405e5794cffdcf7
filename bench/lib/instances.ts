import { existsSync } from 'node:fs'
import { createClient } from 'redis'

/**
 * What the several-instance target (roost-postgres-x2) needs besides
 * PostgreSQL: Redis for the realtime bus (BENCH_REDIS_URL, default the
 * machine's own) and Debian's nginx (test/helpers/nginx.ts starts it).
 */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const NGINX = '/usr/sbin/nginx'

/** Why Redis cannot be used, or undefined if it can. */
async function redisProblem(): Promise<string | undefined> {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.ping()
    await client.quit()
    return undefined
  } catch (error) {
    if (client.isOpen) client.destroy()
    return `Redis at ${REDIS_URL.replace(/:[^:@/]*@/, ':***@')} is not reachable (${error instanceof Error ? error.message : String(error)}); set BENCH_REDIS_URL`
  }
}

/** Why several instances cannot run here (no Redis, no nginx), or undefined if they can. */
export async function instancesProblem(): Promise<string | undefined> {
  if (!existsSync(NGINX)) return `nginx is not installed (${NGINX}; Debian's nginx package)`
  return redisProblem()
}
