import { spawnSync } from 'node:child_process'
import { createClient as createRedisClient } from 'redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { failure } from '../helpers/clients.js'
import { describeInstances, REDIS_URL, startInstances, type Instances } from '../helpers/instances.js'
import { account, collectionNames, from, newIp, rawCreateCollection, signIn, startRedis, type Opened } from './helpers.js'

/**
 * Limits small enough to reach in a test; windows long enough not to end in
 * one. Each test has its own users and client IPs (X-Forwarded-For, trusted),
 * so the counters of one test never reach into another.
 */
const LIMITS = {
  writes: { perUser: 5, perIp: 8, windowSeconds: 60 },
  signIn: { failuresPerAddressAndIp: 3, failuresPerAddress: 100, failuresPerIp: 100, windowSeconds: 60 }
}

describeInstances('rate limits shared by two instances through Redis', (backend) => {
  let cluster: Instances
  let a: string
  let b: string
  const opened: Opened = []
  const redis = createRedisClient({ url: REDIS_URL })

  beforeAll(async () => {
    cluster = await startInstances(backend, 2, { trustProxy: true, rateLimits: LIMITS })
    ;[a, b] = cluster.instances.map((instance) => instance.url) as [string, string]
    await redis.connect()
  })
  afterAll(async () => {
    for (const socket of opened) socket.close()
    if (redis.isOpen) await redis.close()
    // Also removes the counters it left in Redis.
    await cluster?.close()
  })

  const app = () => cluster.instances[0]!.app

  it('REST: the write after perUser writes through either instance is 429 with Retry-After, and writes nothing', async () => {
    const user = await account(app())
    const ip = newIp()
    const clients = [await signIn(from(a, 'rest', ip, opened), user), await signIn(from(b, 'rest', ip, opened), user)]
    for (let i = 0; i < LIMITS.writes.perUser; i++) await clients[i % 2]!.service('collections').create({ name: `c${i}` })

    const accessToken = await clients[1]!.authentication.getAccessToken()
    const refused = await rawCreateCollection(b, ip, accessToken as string, 'sixth')
    expect(refused.status).toBe(429)
    const body = (await refused.json()) as { name: string; message: string; data: { retryAfterSeconds: number } }
    expect(body.name).toBe('TooManyRequests')
    expect(body.message).toMatch(/rateLimits\.writes\.perUser/)
    const retryAfter = Number(refused.headers.get('Retry-After'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.writes.windowSeconds)
    expect(body.data.retryAfterSeconds).toBe(retryAfter)
    // Through the other instance as well; reads are not counted.
    expect((await failure(clients[0]!.service('collections').create({ name: 'seventh' }))).code).toBe(429)
    expect((await collectionNames(clients[0]!)).sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4'])

    // The counters are in the shared Redis, under the deployment's key.
    // (A refused call is counted there too, as rate-limiter-flexible does: the window is not extended by it.)
    expect(Number(await redis.get(`${cluster.key}:limits:writes:user:${user.id}`))).toBeGreaterThanOrEqual(LIMITS.writes.perUser)
  })

  it('socket.io: the same count across instances, and the same error data', async () => {
    const user = await account(app())
    const ip = newIp()
    const sockets = [await signIn(from(a, 'socketio', ip, opened), user), await signIn(from(b, 'socketio', ip, opened), user)]
    for (let i = 0; i < LIMITS.writes.perUser; i++) await sockets[i % 2]!.service('collections').create({ name: `s${i}` })

    const refused = await failure(sockets[1]!.service('collections').create({ name: 'sixth' }))
    expect(refused.code).toBe(429)
    expect(refused.name).toBe('TooManyRequests')
    expect(refused.message).toMatch(/rateLimits\.writes\.perUser/)
    expect(refused.data.retryAfterSeconds).toBeGreaterThan(0)
    expect(refused.data.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.writes.windowSeconds)
    expect((await collectionNames(sockets[0]!)).sort()).toEqual(['s0', 's1', 's2', 's3', 's4'])
  })

  it('writes per IP count every user of that IP across instances; another IP is not affected', async () => {
    const ip = newIp()
    const users = [await account(app()), await account(app())]
    const clients = [await signIn(from(a, 'rest', ip, opened), users[0]!), await signIn(from(b, 'socketio', ip, opened), users[1]!)]
    // Four each: both under perUser, together at perIp.
    for (let i = 0; i < LIMITS.writes.perIp; i++) await clients[i % 2]!.service('collections').create({ name: `ip${i}` })

    const refused = await failure(clients[0]!.service('collections').create({ name: 'over' }))
    expect(refused.code).toBe(429)
    expect(refused.message).toMatch(/rateLimits\.writes\.perIp/)
    expect(await collectionNames(clients[0]!)).not.toContain('over')
    // The refused call took no point from its user: from another IP, that user still has one write left.
    const elsewhere = await signIn(from(b, 'rest', newIp(), opened), users[0]!)
    await elsewhere.service('collections').create({ name: 'fifth' })
    expect((await failure(elsewhere.service('collections').create({ name: 'sixth' }))).message).toMatch(/rateLimits\.writes\.perUser/)
  })

  it('sign-in failures are counted across instances', async () => {
    const user = await account(app())
    const ip = newIp()
    const clients = [from(a, 'rest', ip, opened), from(b, 'rest', ip, opened)]
    for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) {
      expect((await failure(clients[i % 2]!.authenticate({ strategy: 'local', email: user.email, password: 'wrong' }))).code).toBe(401)
    }
    // Even the right password, through either instance.
    for (const client of clients) {
      const refused = await failure(signIn(client, user))
      expect(refused.code).toBe(429)
      expect(refused.message).toMatch(/rateLimits\.signIn\.failuresPerAddressAndIp/)
    }
  })
})

const redisServer = spawnSync('redis-server', ['--version']).status === 0

/** Fewer writes: while Redis hangs, each count waits for its timeout (half a second) before it is made in memory. */
const INSURED = { ...LIMITS, writes: { perUser: 2, perIp: 100, windowSeconds: 60 } }

describeInstances('rate limits when their Redis goes away (insurance)', (backend) => {
  if (!redisServer) {
    if (process.env.CI === 'true') it('needs redis-server under CI', () => expect.fail('redis-server is not installed'))
    else {
      console.warn('SKIPPED the insurance test: redis-server is not installed (it starts a Redis of its own to stop).')
      it.skip('needs redis-server')
    }
    return
  }
  let cluster: Instances
  let limitsRedis: Awaited<ReturnType<typeof startRedis>>
  const opened: Opened = []

  beforeAll(async () => {
    limitsRedis = await startRedis()
    // The counters in a Redis of their own (rateLimits.redisUrl); the realtime bus stays on the shared one.
    cluster = await startInstances(backend, 2, { trustProxy: true, rateLimits: { ...INSURED, redisUrl: limitsRedis.url } })
  })
  afterAll(async () => {
    for (const socket of opened) socket.close()
    limitsRedis?.kill()
    await cluster?.close()
  })

  it('counts in Redis while it is there; when it hangs or is killed, every instance still answers and counts on its own', async () => {
    const [a, b] = cluster.instances.map((instance) => instance.url) as [string, string]
    const user = await account(cluster.instances[0]!.app)
    const ip = newIp()
    const clients = [await signIn(from(a, 'rest', ip, opened), user), await signIn(from(b, 'rest', ip, opened), user)]
    const { perUser } = INSURED.writes
    // Shared: through B, then A is at the limit too.
    for (let i = 0; i < perUser; i++) await clients[1]!.service('collections').create({ name: `before${i}` })
    expect((await failure(clients[0]!.service('collections').create({ name: 'over' }))).code).toBe(429)

    // Redis hangs (connected, answering nothing): each count gives up after a moment and is made in
    // the instance's memory, with the same limits (A's memory has counted none of the above).
    limitsRedis.pause()
    for (let i = 0; i < perUser; i++) await clients[0]!.service('collections').create({ name: `hung${i}` })
    const refusedWhileHung = await failure(clients[0]!.service('collections').create({ name: 'over' }))
    expect(refusedWhileHung.code).toBe(429)
    expect(refusedWhileHung.message).toMatch(/rateLimits\.writes\.perUser/)
    // Closing A's counters (as its teardown does) does not wait for the counts Redis never answered.
    const closing = Date.now()
    await cluster.instances[0]!.app.get('limiters').close()
    expect(Date.now() - closing).toBeLessThan(4000)

    // Redis gone: no 500 and no wait at all; B counts in its own memory.
    limitsRedis.kill()
    const started = Date.now()
    for (let i = 0; i < perUser; i++) await clients[1]!.service('collections').create({ name: `gone${i}` })
    expect((await failure(clients[1]!.service('collections').create({ name: 'over' }))).code).toBe(429)
    // Sign-in too goes on.
    await signIn(from(b, 'rest', newIp(), opened), user)
    expect(Date.now() - started).toBeLessThan(4000)
    expect(await collectionNames(clients[1]!)).not.toContain('over')
  })
})
