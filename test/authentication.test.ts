import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from './helpers/backends.js'
import { signedIn, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/**
 * Verified tokens are remembered (src/authentication.ts) so that the same
 * token is not checked again on every request: what is remembered must never
 * outlive the token, nor let a different token through.
 */
describeBackends('authentication: remembered token verification', (backend) => {
  let server: TestServer
  let owner: TestClient

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
  })
  afterAll(async () => {
    owner?.close()
    await server?.close()
  })

  const listCollections = (token: string) =>
    fetch(`${server.url}/collections`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status)

  it('a token that worked is refused once it expires', async () => {
    const token = await server.app.service('authentication').createAccessToken({ sub: owner.user.id }, { expiresIn: '1s' })
    expect(await listCollections(token)).toBe(200)
    expect(await listCollections(token)).toBe(200)
    await sleep(1_100)
    expect(await listCollections(token)).toBe(401)
  })

  it('a token differing from a verified one only in its signature is refused', async () => {
    const token = await server.app.service('authentication').createAccessToken({ sub: owner.user.id })
    expect(await listCollections(token)).toBe(200)
    const [header, payload, signature] = token.split('.')
    const forged = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
    expect(await listCollections(forged)).toBe(401)
  })

  describe('over socket.io', () => {
    it('a connection authenticated with a remembered token still works', async () => {
      const client = await signedIn(server.url, 'socketio')
      try {
        const created = await client.client.service('collections').create({})
        expect(await client.client.service('collections').get(created.id)).toMatchObject({ id: created.id })
      } finally {
        client.close()
      }
    })
  })
})
