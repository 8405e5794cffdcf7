import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { describeBackends } from '../helpers/backends.js'
import { connect, failure, signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * realtime.maxSocketsPerUser: authenticating one socket too many fails with
 * 429 and `data.retryAfterSeconds`, and leaves that socket anonymous; places
 * are per user, freed by a disconnection or a sign-out; re-authenticating a
 * counted socket takes no new place; REST sign-ins are not counted.
 *
 * What makes it fail: no count (every socket is accepted), or a count that
 * is not released (the fourth socket stays refused after one closed).
 */

const MAX = 3

describeBackends('realtime: open sockets per user', (backend) => {
  let server: TestServer
  let user: TestClient
  const opened: Array<{ close(): void }> = []

  const socketOf = (who: TestClient) => {
    const connection = connect(server.url, 'socketio')
    opened.push(connection)
    return { ...connection, signIn: () => connection.client.authenticate({ strategy: 'local', email: who.email, password: who.password }) }
  }

  beforeAll(async () => {
    server = await startServer(backend, { realtime: { maxSocketsPerUser: MAX, pingIntervalMilliseconds: 5000, pingTimeoutMilliseconds: 4000 } })
    user = await signedIn(server.url, 'rest')
  })
  afterEach(() => {
    opened.splice(0).forEach((connection) => connection.close())
  })
  afterAll(async () => {
    user.close()
    await server.close()
  })

  /** Waits until the server has seen the user's sockets close (their places free again). */
  const placesFree = async () => {
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      const probe = socketOf(user)
      const refused = await probe.signIn().then(
        () => false,
        () => true
      )
      probe.close()
      if (!refused) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error('the places of closed sockets were not freed')
  }

  it(`refuses the socket over ${MAX} with 429 and Retry-After, and leaves it anonymous`, async () => {
    await placesFree()
    const sockets = Array.from({ length: MAX }, () => socketOf(user))
    for (const socket of sockets) await socket.signIn()

    const extra = socketOf(user)
    const error = await failure(extra.signIn())
    expect(error).toMatchObject({ code: 429, name: 'TooManyRequests', data: { limit: MAX, retryAfterSeconds: 9 } })
    expect(error.message).toContain('realtime.maxSocketsPerUser')
    // Refused: it hears nothing and may call nothing that needs a user.
    expect((await failure(extra.client.service('subscriptions').find())).code).toBe(401)

    // Another user has places of their own; REST sign-ins are not sockets.
    const other = await signedIn(server.url, 'socketio')
    opened.push(other)
    await user.client.authenticate({ strategy: 'local', email: user.email, password: user.password })
    expect(await user.client.service('collections').find()).toBeDefined()

    // A counted socket may authenticate again (a token refresh): no new place.
    await sockets[0].client.authenticate({ strategy: 'local', email: user.email, password: user.password })
    await sockets[0].client.reAuthenticate(true)
  })

  it('gives a place back when a socket disconnects or signs out', async () => {
    await placesFree()
    const sockets = Array.from({ length: MAX }, () => socketOf(user))
    for (const socket of sockets) await socket.signIn()
    expect((await failure(socketOf(user).signIn())).code).toBe(429)

    sockets[0].close()
    const next = socketOf(user)
    for (const deadline = Date.now() + 5000; ; ) {
      if (await next.signIn().then(() => true, () => false)) break
      if (Date.now() > deadline) throw new Error('the closed socket kept its place')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }

    await sockets[1].client.logout()
    await socketOf(user).signIn()
    expect((await failure(socketOf(user).signIn())).code).toBe(429)
  })
})
