import { existsSync } from 'node:fs'
import { redisProblem } from '../../test/helpers/redis-probe.js'

/**
 * What the several-instance target (roost-postgres-x2) needs besides
 * PostgreSQL: Redis for the realtime bus (BENCH_REDIS_URL, default the
 * machine's own) and Debian's nginx (test/helpers/nginx.ts starts it).
 */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const NGINX = '/usr/sbin/nginx'

/** Why several instances cannot run here (no Redis, no nginx), or undefined if they can. */
export async function instancesProblem(): Promise<string | undefined> {
  if (!existsSync(NGINX)) return `nginx is not installed (${NGINX}; Debian's nginx package)`
  const problem = await redisProblem(REDIS_URL)
  return problem === undefined ? undefined : `${problem}; set BENCH_REDIS_URL`
}
