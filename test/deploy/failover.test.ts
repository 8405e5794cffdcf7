import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { BUS_CLIENT_NAME } from '../../src/realtime/sync.js'
import { Clients, until, within } from '../client/helpers.js'
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { describeCluster, startCluster, writesServed, type Cluster } from './cluster.js'
import { expectConverged, startWriting, team } from './writers.js'

/**
 * Issue 18, "the bus only speeds delivery; correctness never depends on it":
 * two Roost processes on one PostgreSQL database, sharing a private Redis,
 * behind Debian's nginx with the configuration of docs/DEPLOY.md. Client-library
 * clients of four users write to one shared collection while an instance is
 * killed (SIGKILL) or stopped (SIGTERM), or while Redis is killed and started
 * again; each ends with exactly the server's records and versions, every
 * acknowledged write is there once, and each heard every other client's records.
 * Each test starts (and removes) its own processes, nginx and database; the
 * private Redis is shared by the file, on a channel per test. Most of the time
 * goes into starting the Roost processes.
 */
const WRITERS = 4
const WRITE_EVERY_MS = 40
const SHUTDOWN_TIMEOUT_SECONDS = 4

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The instances' bus connections to Redis: those subscribed to `key`, and all of them (one publisher and one subscriber each). */
async function busClients(url: string, key: string): Promise<{ connections: number; subscribers: number }> {
  const probe = createClient({ url, socket: { reconnectStrategy: false } })
  probe.on('error', () => undefined)
  try {
    await probe.connect()
    const subscribers = (await probe.pubSubNumSub(key))[key] ?? 0
    const connections = (await probe.clientList()).filter((client) => client.name === BUS_CLIENT_NAME).length
    return { connections, subscribers }
  } catch {
    return { connections: 0, subscribers: 0 }
  } finally {
    if (probe.isOpen) await probe.quit().catch(() => undefined)
  }
}

describeCluster('several instances behind nginx: failover', (backend) => {
  let redis: RedisServer
  let cluster: Cluster | undefined
  const clients = new Clients()

  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterEach(async () => {
    await clients.closeAll()
    await cluster?.close()
    cluster = undefined
    // A test that failed with Redis down leaves it down: the next one needs it.
    if (redis !== undefined && !redis.running()) await redis.start()
  })
  afterAll(async () => {
    await redis?.kill()
  })

  it('an instance killed (SIGKILL) while clients write through nginx: they move to the other one and end with exactly the server state', async () => {
    // A batch commit caught by the kill keeps its idempotency key claimed until its lease
    // runs out (idempotency.leaseSeconds, 5 s by default): its retry through the survivor
    // waits for that, then takes the key over. The defaults, as deployed.
    cluster = await startCluster(backend, { instances: 2, busUrl: redis.url, nginx: true })
    const [doomed, survivor] = cluster.instances
    const shared = await team(clients, cluster.url, [cluster.url], WRITERS)

    const writing = startWriting(shared.writers, WRITE_EVERY_MS)
    await sleep(1500)
    // Round robin: both instances were taking writes.
    expect(writesServed(doomed)).toBeGreaterThan(0)
    expect(writesServed(survivor)).toBeGreaterThan(0)
    await doomed.kill()
    const servedAtKill = writesServed(survivor)
    await sleep(2000)
    await writing.stop()

    await expectConverged(shared, cluster.url)
    // Everything after the kill went to the survivor; every client is live on it again.
    expect(writesServed(survivor)).toBeGreaterThan(servedAtKill)
    // socket.io reconnects with a growing delay (up to 10 s after repeated failures): live again within that.
    await until(() => shared.writers.every((writer) => writer.roost.status.get().live), 'every client live again', 15_000)
    expect(cluster.nginx!.errors()).toMatch(/connect\(\) failed|upstream prematurely closed|Connection reset/)
    // client_max_body_size is Roost's request limit: nginx refuses a larger body itself, and no instance is
    // counted as failed for it (with a larger client_max_body_size this was a 502 and a "Broken pipe").
    const errorsBefore = cluster.nginx!.errors()
    const large = await fetch(`${cluster.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024) }) })
    expect(large.status).toBe(413)
    expect(cluster.nginx!.errors().slice(errorsBefore.length)).not.toMatch(/upstream/)
    // socket.io went through nginx as WebSocket upgrades only. nginx logs an upgrade when its connection
    // closes (round robin may have put every socket on the survivor): closed here, then read.
    await clients.closeAll()
    await until(() => /"GET \/socket\.io\/\?EIO=4&transport=websocket HTTP\/1\.1" 101 /.test(cluster!.nginx!.accessLog()), 'nginx to log the WebSocket upgrades', 5000)
    expect(cluster.nginx!.accessLog()).not.toContain('transport=polling')
  }, 60_000)

  it('Redis killed and started again: writes go on while the bus is down, delivery across instances resumes, an idle client catches up at the next event, every client converges', async () => {
    cluster = await startCluster(backend, { instances: 2, busUrl: redis.url, nginx: false })
    const [a, b] = cluster.instances
    // Half the writers on each instance, directly, and a client on B that never
    // writes; all poll only every 10 minutes (with the socket up), so what reaches
    // a client unasked came over its socket.
    const shared = await team(clients, a.url, [a.url, b.url, a.url, b.url, b.url], WRITERS + 1, { pollIntervalMs: 600_000 })
    const writers = shared.writers.slice(0, WRITERS)
    const [onA, onB] = writers
    const listener = shared.writers[WRITERS]
    const unheard = (client: typeof listener) => writers.flatMap((writer) => [...writer.model.keys()]).filter((id) => !client.heard.has(id))

    /** A write through A reaching a client on B, which does nothing meanwhile. */
    const crossing = async (label: string) => {
      const [writeId] = await onA.writeOne()
      await within(onA.roost.awaitWrite(writeId), `${label}: the write through A`, 5000)
      await until(() => onB.heard.has([...onA.model.keys()].at(-1)!), `${label}: a client on B hearing a write through A`, 5000)
    }
    await crossing('before')

    const writing = startWriting(writers, WRITE_EVERY_MS)
    await sleep(800)
    await redis.kill()
    const writtenWhileDown = writers.map((writer) => writer.writeIds.length)
    await sleep(1500)
    await writing.stop()
    // The bus is down: writes neither hang nor fail.
    for (const [index, writer] of writers.entries()) {
      expect(writer.writeIds.length).toBeGreaterThan(writtenWhileDown[index])
      await within(Promise.all(writer.writeIds.map((writeId) => writer.roost.awaitWrite(writeId))), `${writer.name}'s writes with Redis down`, 5000)
    }
    // Every event goes through Redis (the writer's own instance's too): the idle client heard none of the last writes.
    const lastWrites = writers.map((writer) => [...writer.model.keys()].at(-1)!)
    expect(lastWrites.filter((id) => listener.heard.has(id))).toEqual([])

    await redis.start()
    // Both instances reconnect by themselves (publisher and subscriber each). What
    // they sent before the other was listening again may be lost: the bus is best-effort.
    await until(() => busClients(redis.url, cluster!.key).then(({ connections, subscribers }) => connections === 4 && subscribers === 2), 'both instances back on the bus', 10_000)
    // The next event is enough: a write through A reaches B's sockets again, and the idle
    // client, poked by it, pulls from its cursor and has every write of the outage.
    await crossing('after Redis came back')
    await until(() => unheard(listener).length === 0, 'the idle client on B catching up at the next event', 5000)

    await expectConverged(shared, a.url)
    for (const instance of cluster.instances) expect(instance.child.exitCode).toBeNull()
  }, 60_000)

  it('an instance stopped (SIGTERM) while clients write through nginx: no acknowledged write is lost, it exits 0 in time, clients carry on', async () => {
    cluster = await startCluster(backend, { instances: 2, busUrl: redis.url, nginx: true, config: { shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS } })
    const [stopping, staying] = cluster.instances
    const shared = await team(clients, cluster.url, [cluster.url], WRITERS)

    const writing = startWriting(shared.writers, WRITE_EVERY_MS)
    await sleep(1500)
    expect(writesServed(stopping)).toBeGreaterThan(0)
    const signalledAt = Date.now()
    stopping.child.kill('SIGTERM')
    const exit = await within(stopping.exited, 'the stopped instance to exit', SHUTDOWN_TIMEOUT_SECONDS * 1000 + 3000)
    const exitedAt = Date.now()
    // Acknowledged while it stopped (the calls it finished) or just before.
    const acknowledgedAtExit = shared.writers.flatMap((writer) => [...writer.outcomes.values()])
    const servedAtExit = writesServed(staying)
    await sleep(1500)
    await writing.stop()

    expect(exit).toEqual({ code: 0, signal: null })
    expect(exitedAt - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000)
    expect(stopping.stdout()).toContain('"msg":"stopped"')
    await expectConverged(shared, cluster.url)
    // Those answered before it exited were all applied (expectConverged: each is on the server, once, as written).
    expect(acknowledgedAtExit.length).toBeGreaterThan(0)
    expect(acknowledgedAtExit.filter((outcome) => outcome.status !== 'applied')).toEqual([])
    expect(writesServed(staying)).toBeGreaterThan(servedAtExit)
    // socket.io reconnects with a growing delay (up to 10 s after repeated failures): live again within that.
    await until(() => shared.writers.every((writer) => writer.roost.status.get().live), 'every client live again', 15_000)
  }, 60_000)
})
