import { randomBytes } from 'node:crypto'
import { startNginx } from '../../test/helpers/nginx.js'
import { onCleanup, type NodeChild } from '../lib/children.js'
import { createDatabase, type Backend } from '../lib/databases.js'
import { HttpClient } from '../lib/http.js'
import { REDIS_URL } from '../lib/instances.js'
import { listeningPids, summedCpuSeconds } from '../lib/proc.js'
import { newCollection, newUser, roostConfig, roostEnv, signUp } from './roost.js'
import { launchServer } from './server-child.js'
import type { ProcessPart, RoostTarget, TargetName } from './types.js'

const portOf = (url: string) => Number(new URL(url).port)
const isLocal = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)

/**
 * `count` real Roost servers (src/index.ts, as roost-postgres runs it) on ONE
 * fresh database, behind nginx (test/helpers/nginx.ts: the configuration
 * docs/DEPLOY.md documents, round-robin, websockets passed through), with the realtime
 * bus over Redis (SYNC_URL's setting, on a channel of this target's own, so
 * that concurrent runs do not hear each other). They share one token secret
 * and one data folder, so the bench user's token works on every instance.
 * Every workload talks to nginx: writes and socket.io subscribers are spread
 * over the instances. The server CPU is the instances' together; each
 * instance's, nginx's (master and workers) and Redis's (the whole server, as
 * /proc shows it; nothing when it is not on this machine) are reported one by one.
 */
export async function startRoostInstances(name: TargetName, backend: Backend, count: number, origins: string[]): Promise<RoostTarget> {
  const database = await createDatabase(backend)
  const secret = randomBytes(32).toString('hex')
  const user = newUser()
  // The bench user is an operator: its operator view (GET /server-stats) says how many sockets each instance holds.
  const config = roostConfig({ sync: { url: REDIS_URL, key: `roost-bench-${randomBytes(6).toString('hex')}` }, operators: [user.email] })
  const children: NodeChild[] = []
  let nginx: { url: string; close(): Promise<void> } | undefined
  let unregister = () => {}
  const stopAll = async () => {
    unregister()
    await nginx?.close()
    for (const child of children.splice(0)) await child.stop()
    await database.drop()
  }
  try {
    const urls: string[] = []
    // One after the other: the first brings the schema up to date.
    for (let index = 0; index < count; index++) {
      const env = () => ({ ...roostEnv(database, secret, origins, config), ROOST_STORAGE_SHORTCUTS: 'true' })
      const { child, url } = await launchServer({ name: `${name} instance ${index + 1}`, script: 'src/index.ts', env }, database)
      children.push(child)
      urls.push(url)
    }
    nginx = await startNginx(urls)
    // If the benchmark ends early (an error, Ctrl-C), nginx, not a child of spawnNode, is stopped too.
    unregister = onCleanup(() => nginx?.close())
    const { http, accessToken } = await signUp(nginx.url, user)
    const nginxPids = listeningPids(portOf(nginx.url))
    const redisPids = isLocal(REDIS_URL) ? listeningPids(portOf(REDIS_URL) || 6379) : []
    const parts: ProcessPart[] = [
      ...children.map((child, index) => ({ label: `Roost ${index + 1}`, server: true, cpuSeconds: child.cpuSeconds })),
      { label: 'nginx', server: false, cpuSeconds: async () => summedCpuSeconds(nginxPids) },
      { label: 'Redis', server: false, cpuSeconds: async () => summedCpuSeconds(redisPids) }
    ]
    return {
      kind: 'roost',
      name,
      backend,
      database,
      pid: children[0].pid,
      pids: children.map((child) => child.pid),
      cpuSeconds: async () => (await Promise.all(children.map((child) => child.cpuSeconds()))).reduce((total, seconds) => total + seconds, 0),
      parts,
      url: nginx.url,
      http,
      accessToken,
      newCollection: () => newCollection(http),
      async socketsPerInstance() {
        const counts: Record<string, number> = {}
        for (const [index, url] of urls.entries()) {
          // Straight to the instance, not through nginx.
          const direct = new HttpClient(url, { authorization: `Bearer ${accessToken}` })
          try {
            counts[`Roost ${index + 1}`] = (await direct.json<{ realtime: { connections: number } }>('GET', '/server-stats')).realtime.connections
          } finally {
            direct.close()
          }
        }
        return counts
      },
      async stop() {
        http.close()
        await stopAll()
      }
    }
  } catch (error) {
    const output = children.map((child, index) => `instance ${index + 1}: ${child.output()}`).join('\n')
    await stopAll()
    throw new Error(`${name} did not start: ${(error as Error).message}${output ? `\n${output}` : ''}`)
  }
}
