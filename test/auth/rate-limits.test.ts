import { MemoryStorage } from '@feathersjs/authentication-client'
import restClientModule from '@feathersjs/rest-client'
import socketioClientModule from '@feathersjs/socketio-client'
import { io, type Socket } from 'socket.io-client'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { EmailStrategy } from '../../src/authentication.js'
import { createClient, type ClientApplication } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, newEmail, TRANSPORTS, type Transport } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

const rest = restClientModule.default
const socketio = socketioClientModule.default

/**
 * Limits small enough to reach in a test. The server trusts X-Forwarded-For
 * (`trustProxy`, as behind a reverse proxy), so each client below can come
 * from its own IP.
 */
const LIMITS = {
  signIn: { failuresPerAddressAndIp: 3, failuresPerAddress: 8, failuresPerIp: 5, windowSeconds: 60 },
  signUp: { perIp: 3, perAddress: 2, windowSeconds: 60 }
}

let ipCounter = 0
/** A fresh client IP (TEST-NET-3), so that tests do not share counters. */
const newIp = () => `203.0.113.${++ipCounter}`

describeBackends('rate limits on sign-in and sign-up', (backend) => {
  let server: TestServer
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend, { trustProxy: true, rateLimits: LIMITS })
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A client whose requests (REST) or connection (socket.io) come from `ip`, as the proxy reports it. */
  function from(transport: Transport, ip: string): ClientApplication {
    const headers = { 'x-forwarded-for': ip }
    if (transport === 'rest') {
      const viaProxy: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } })
      return createClient(rest(server.url).fetch(viaProxy), { storage: new MemoryStorage() })
    }
    const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: headers })
    opened.push({ close: () => socket.disconnect() })
    return createClient(socketio(socket as never), { storage: new MemoryStorage() })
  }

  /** An account made on the server side (no limits), to sign in to. */
  async function account() {
    const email = newEmail()
    const password = `pw-${Math.random().toString(36).slice(2)}`
    await server.app.service('users').create({ email, password }, {})
    return { email, password }
  }

  const signIn = (client: ClientApplication, email: string, password: string) => client.authenticate({ strategy: 'local', email, password })
  const wrong = async (client: ClientApplication, email: string) => {
    const error = await failure(signIn(client, email, 'a wrong password'))
    expect(error.code).toBe(401)
  }
  const passwords = () => (server.app.service('authentication').getStrategy('local') as EmailStrategy).passwords

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('failures in a row on one address from one IP end in 429 with retryAfterSeconds, even for the right password, and cost no hashing', async () => {
        const { email, password } = await account()
        const attacker = from(transport, newIp())
        for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) await wrong(attacker, email)

        const verify = vi.spyOn(passwords(), 'verify')
        const limited = await failure(signIn(attacker, email, password))
        expect(limited.code).toBe(429)
        expect(limited.name).toBe('TooManyRequests')
        expect(limited.message).toMatch(/rateLimits\.signIn\.failuresPerAddressAndIp/)
        expect(limited.data.retryAfterSeconds).toBeGreaterThan(0)
        expect(limited.data.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.signIn.windowSeconds)
        expect(verify).not.toHaveBeenCalled()
      })

      it('an attacker on one address does not lock out another address, nor the same address from another IP', async () => {
        const victim = await account()
        const bystander = await account()
        const attackerIp = newIp()
        const attacker = from(transport, attackerIp)
        for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) await wrong(attacker, victim.email)
        expect((await failure(signIn(attacker, victim.email, victim.password))).code).toBe(429)

        // The real user of the attacked address, from their own IP.
        expect((await signIn(from(transport, newIp()), victim.email, victim.password)).user.email).toBe(victim.email)
        // Another user, from their own IP.
        expect((await signIn(from(transport, newIp()), bystander.email, bystander.password)).user.email).toBe(bystander.email)
        // Another user, even from the attacker's IP (its failures are under failuresPerIp).
        expect((await signIn(from(transport, attackerIp), bystander.email, bystander.password)).user.email).toBe(bystander.email)
      })

      it('a success clears the failures in a row', async () => {
        const { email, password } = await account()
        const ip = newIp()
        // Two rounds: without the reset the second would pass failuresPerAddressAndIp (the IP's own
        // failures are not cleared by a success, so more rounds would reach failuresPerIp).
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp - 1; i++) await wrong(from(transport, ip), email)
          expect((await signIn(from(transport, ip), email, password)).user.email).toBe(email)
        }
      })

      it('failures from one IP across many addresses end in 429 for that IP only', async () => {
        const ip = newIp()
        for (let i = 0; i < LIMITS.signIn.failuresPerIp; i++) await wrong(from(transport, ip), newEmail())
        const { email, password } = await account()
        const limited = await failure(signIn(from(transport, ip), email, password))
        expect(limited.code).toBe(429)
        expect(limited.message).toMatch(/rateLimits\.signIn\.failuresPerIp/)
        expect((await signIn(from(transport, newIp()), email, password)).user.email).toBe(email)
      })

      it('failures on one address from many IPs end in 429 for that address (a distributed guess is bounded too)', async () => {
        const { email, password } = await account()
        for (let i = 0; i < LIMITS.signIn.failuresPerAddress; i++) await wrong(from(transport, newIp()), email)
        const limited = await failure(signIn(from(transport, newIp()), email, password))
        expect(limited.code).toBe(429)
        expect(limited.message).toMatch(/rateLimits\.signIn\.failuresPerAddress\b/)
      })

      it('unknown addresses count as failures like wrong passwords', async () => {
        const email = newEmail()
        const ip = newIp()
        for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) await wrong(from(transport, ip), email)
        expect((await failure(signIn(from(transport, ip), email, 'whatever it is'))).code).toBe(429)
      })

      it('sign-ups from one IP end in 429; another IP still signs up', async () => {
        const ip = newIp()
        for (let i = 0; i < LIMITS.signUp.perIp; i++) {
          await from(transport, ip).service('users').create({ email: newEmail(), password: 'long enough pw' })
        }
        const email = newEmail()
        const hash = vi.spyOn(passwords(), 'hash')
        const limited = await failure(from(transport, ip).service('users').create({ email, password: 'long enough pw' }))
        expect(limited.code).toBe(429)
        expect(limited.message).toMatch(/rateLimits\.signUp\.perIp/)
        expect(limited.data.retryAfterSeconds).toBeGreaterThan(0)
        expect(hash).not.toHaveBeenCalled()
        expect(await server.storage.findUserByEmail(email)).toBeUndefined()
        await from(transport, newIp()).service('users').create({ email, password: 'long enough pw' })
        expect(await server.storage.findUserByEmail(email)).toBeDefined()
      })

      it('sign-up attempts for one address (taken or not, as typed) end in 429', async () => {
        const email = newEmail()
        await from(transport, newIp()).service('users').create({ email, password: 'long enough pw' })
        const taken = await failure(from(transport, newIp()).service('users').create({ email: ` ${email.toUpperCase()}`, password: 'long enough pw' }))
        expect(taken.code).toBe(409)
        const limited = await failure(from(transport, newIp()).service('users').create({ email, password: 'long enough pw' }))
        expect(limited.code).toBe(429)
        expect(limited.message).toMatch(/rateLimits\.signUp\.perAddress/)
      })
    })
  }

  describe('over REST only', () => {
    it('429 carries a Retry-After header with the seconds of data.retryAfterSeconds', async () => {
      const email = newEmail()
      const ip = newIp()
      const attempt = () =>
        fetch(`${server.url}/authentication`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ strategy: 'local', email, password: 'a wrong password' })
        })
      for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) expect((await attempt()).status).toBe(401)
      const response = await attempt()
      expect(response.status).toBe(429)
      const body = await response.json()
      expect(Number(response.headers.get('retry-after'))).toBe(body.data.retryAfterSeconds)
    })

    it('only the last X-Forwarded-For entry counts: what a client puts in front cannot pick a fresh IP', async () => {
      const email = newEmail()
      const ip = newIp()
      const attempt = (spoofed: string) =>
        fetch(`${server.url}/authentication`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `${spoofed}, ${ip}` },
          body: JSON.stringify({ strategy: 'local', email, password: 'a wrong password' })
        })
      for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) expect((await attempt(newIp())).status).toBe(401)
      expect((await attempt(newIp())).status).toBe(429)
    })

    it('a 400 (malformed sign-in) does not count against the limits', async () => {
      const { email, password } = await account()
      const ip = newIp()
      for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp + 2; i++) {
        const response = await fetch(`${server.url}/authentication`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ strategy: 'local', email, password: 42 })
        })
        expect(response.status).toBe(400)
      }
      expect((await signIn(from('rest', ip), email, password)).user.email).toBe(email)
    })
  })
})

describeBackends('rate limits without a trusted proxy', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    // Every client here is 127.0.0.1: a larger failuresPerIp lets each test reach failuresPerAddressAndIp on its own address.
    server = await startServer(backend, { rateLimits: { ...LIMITS, signIn: { ...LIMITS.signIn, failuresPerIp: 100 } } })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('X-Forwarded-For is ignored: every request counts under the peer address', async () => {
    const email = newEmail()
    const attempt = () =>
      fetch(`${server.url}/authentication`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': newIp() },
        body: JSON.stringify({ strategy: 'local', email, password: 'a wrong password' })
      })
    for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) expect((await attempt()).status).toBe(401)
    expect((await attempt()).status).toBe(429)
  })

  it('over socket.io too: each connection counts under its handshake address, whatever X-Forwarded-For it sent', async () => {
    const email = newEmail()
    const sockets: Socket[] = []
    const attempt = async () => {
      const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { 'x-forwarded-for': newIp() } })
      sockets.push(socket)
      const client = createClient(socketio(socket as never), { storage: new MemoryStorage() })
      return failure(client.authenticate({ strategy: 'local', email, password: 'a wrong password' }))
    }
    try {
      for (let i = 0; i < LIMITS.signIn.failuresPerAddressAndIp; i++) expect((await attempt()).code).toBe(401)
      const limited = await attempt()
      expect(limited.code).toBe(429)
      expect(limited.data.retryAfterSeconds).toBeGreaterThan(0)
    } finally {
      for (const socket of sockets) socket.disconnect()
    }
  })
})
