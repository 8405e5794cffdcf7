import { GeneralError } from '@feathersjs/errors'
import { io, type Socket } from 'socket.io-client'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { StorageError } from '../src/storage/errors.js'
import { describeBackends } from './helpers/backends.js'
import { newEmail, signedIn, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/**
 * Errors as clients see them: a 500 says "Internal server error" and nothing
 * else (no driver text, no stack, no file paths), over REST and over
 * socket.io; the details go to the log only. Unknown paths are JSON 404s.
 */

/** Words that would give internals away. */
const INTERNALS = /stack|knex|sqlite|pool|postgres|pg_|relation|constraint|node_modules|\/work\/|\.[jt]s:\d|ECONN|SELECT|INSERT/i

const DRIVER_TEXT = 'SQLITE_CORRUPT: database disk image is malformed (knex pool at /srv/roost/node_modules/knex/lib/client.js:42)'

/** A raw socket.io connection, to see exactly what goes over the wire. */
function rawSocket(url: string): Socket {
  return io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
}

/** Calls a Feathers service over a raw socket and returns the error object as sent (or null). */
function emit(socket: Socket, method: string, path: string, ...args: unknown[]): Promise<{ error: any; result: unknown }> {
  return new Promise((resolve) => {
    socket.emit(method, path, ...args, (error: unknown, result: unknown) => resolve({ error, result }))
  })
}

async function json(response: Response): Promise<{ text: string; body: any }> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const text = await response.text()
  return { text, body: JSON.parse(text) }
}

const expectGeneric500 = (text: string, body: any) => {
  expect(body).toEqual({ name: 'GeneralError', message: 'Internal server error', code: 500, className: 'general-error' })
  expect(text).not.toMatch(INTERNALS)
}

describeBackends('HTTP and transport errors', (backend) => {
  describe('a running server', () => {
    let server: TestServer
    let owner: TestClient
    let headers: Record<string, string>
    let socket: Socket
    let collectionId: string

    beforeAll(async () => {
      server = await startServer(backend)
      owner = await signedIn(server.url, 'rest')
      const accessToken = await owner.client.authentication.getAccessToken()
      headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }
      collectionId = (await owner.client.service('collections').create({})).id
      socket = rawSocket(server.url)
      const login = await emit(socket, 'create', 'authentication', { strategy: 'jwt', accessToken }, {})
      expect(login.error).toBeNull()
    })
    afterEach(() => {
      vi.restoreAllMocks()
    })
    afterAll(async () => {
      socket?.disconnect()
      owner?.close()
      await server.close()
    })

    it('an unknown path is a JSON 404', async () => {
      for (const [method, path] of [
        ['GET', '/nope'],
        ['POST', '/nope'],
        ['GET', '/collections/x/nothing'],
        ['DELETE', '/users/a/b/c']
      ]) {
        const response = await fetch(`${server.url}${path}`, { method, headers })
        expect(response.status, `${method} ${path}`).toBe(404)
        const { body, text } = await json(response)
        expect(body).toMatchObject({ name: 'NotFound', code: 404, message: expect.stringMatching(/not found/) })
        expect(text).not.toMatch(INTERNALS)
      }
    })

    it('a path that is not valid percent-encoding is a JSON 400, not a 500', async () => {
      const response = await fetch(`${server.url}/%E0%A4%A`, { headers })
      expect(response.status).toBe(400)
      const { body, text } = await json(response)
      expect(body).toMatchObject({ code: 400, message: expect.any(String) })
      expect(text).not.toMatch(INTERNALS)
    })

    it('an unknown service over socket.io is a 404 as well', async () => {
      const { error } = await emit(socket, 'find', 'nope', {})
      expect(error).toMatchObject({ name: 'NotFound', code: 404 })
      expect(JSON.stringify(error)).not.toMatch(INTERNALS)
    })

    const failures: Array<[string, () => Error]> = [
      ['a driver error', () => Object.assign(new Error(DRIVER_TEXT), { code: 'SQLITE_CORRUPT', errno: 11 })],
      ['a TypeError (a bug)', () => new TypeError(`Cannot read properties of undefined (reading 'id') ${DRIVER_TEXT}`)],
      ['an internal storage error', () => new StorageError('internal', DRIVER_TEXT, { cause: new Error(DRIVER_TEXT) })],
      ['a Feathers 500 with driver text', () => new GeneralError(DRIVER_TEXT, { sql: 'SELECT * FROM users', stack: 'at knex' })]
    ]

    for (const [kind, makeError] of failures) {
      it(`${kind} is a bare 500 over REST, and logged with its details`, async () => {
        const logged = vi.spyOn(server.app.get('logger'), 'error')
        vi.spyOn(server.storage, 'getCollectionAccess').mockRejectedValue(makeError())

        const response = await fetch(`${server.url}/collections/${collectionId}/records`, { headers })
        expect(response.status).toBe(500)
        const { text, body } = await json(response)
        expectGeneric500(text, body)

        expect(logged).toHaveBeenCalled()
        expect(JSON.stringify(logged.mock.calls.map(([details]) => (details as { err?: Error }).err?.message))).toContain(
          'SQLITE_CORRUPT'
        )
      })

      it(`${kind} is a bare 500 over socket.io`, async () => {
        vi.spyOn(server.storage, 'getCollectionAccess').mockRejectedValue(makeError())
        const { error } = await emit(socket, 'find', `collections/${collectionId}/changes`, {})
        expect(error).toEqual({ name: 'GeneralError', message: 'Internal server error', code: 500, className: 'general-error' })
        expect(JSON.stringify(error)).not.toMatch(INTERNALS)
      })
    }

    it('an unavailable database is a 503 that says to retry, without details', async () => {
      vi.spyOn(server.storage, 'findRecords').mockRejectedValue(
        new StorageError('unavailable', DRIVER_TEXT, { cause: Object.assign(new Error(DRIVER_TEXT), { code: 'ECONNREFUSED' }) })
      )
      const response = await fetch(`${server.url}/collections/${collectionId}/records`, { headers })
      expect(response.status).toBe(503)
      const { text, body } = await json(response)
      expect(body).toMatchObject({ name: 'Unavailable', code: 503, message: expect.stringMatching(/unavailable.*retry/) })
      expect(text).not.toMatch(INTERNALS)

      const { error } = await emit(socket, 'find', `collections/${collectionId}/records`, {})
      expect(error).toMatchObject({ name: 'Unavailable', code: 503 })
      expect(JSON.stringify(error)).not.toMatch(INTERNALS)
    })

    it('the server keeps working after those failures', async () => {
      const response = await fetch(`${server.url}/collections/${collectionId}/records`, { headers })
      expect(response.status).toBe(200)
      expect((await response.json()).total).toBe(0)
    })
  })

  describe('a server whose database has gone away', () => {
    let server: TestServer
    let owner: TestClient
    let headers: Record<string, string>
    let socket: Socket
    let collectionId: string

    beforeAll(async () => {
      server = await startServer(backend)
      owner = await signedIn(server.url, 'rest')
      const accessToken = await owner.client.authentication.getAccessToken()
      headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }
      collectionId = (await owner.client.service('collections').create({})).id
      socket = rawSocket(server.url)
      expect((await emit(socket, 'create', 'authentication', { strategy: 'jwt', accessToken }, {})).error).toBeNull()
      // The knex pool is destroyed under the running server.
      await server.storage.close()
    })
    afterAll(async () => {
      socket?.disconnect()
      owner?.close()
      await server.close()
    })

    const requests: Array<[string, string, string, unknown?]> = [
      ['an authenticated read', 'GET', '/collections'],
      ['a record write', 'POST', '/collections/{c}/records', { data: 1 }],
      ['the change feed', 'GET', '/collections/{c}/changes'],
      ['a sign-up', 'POST', '/users', { email: newEmail(), password: 'long enough' }],
      ['a login', 'POST', '/authentication', { strategy: 'local', email: 'nobody@example.com', password: 'long enough' }]
    ]

    for (const [description, method, path, body] of requests) {
      it(`${description} is a 5xx with a generic message over REST`, async () => {
        const response = await fetch(`${server.url}${path.replace('{c}', collectionId)}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body)
        })
        expect(response.status).toBeGreaterThanOrEqual(500)
        const { text, body: answer } = await json(response)
        expect(answer.code).toBe(response.status)
        expect(answer.message).toMatch(/^(Internal server error|The database is unavailable; retry later)$/)
        expect(answer).not.toHaveProperty('stack')
        expect(text).not.toMatch(INTERNALS)
      })
    }

    it('the same over socket.io', async () => {
      for (const [method, path, ...args] of [
        ['find', 'collections', {}],
        ['create', `collections/${collectionId}/records`, { data: 1 }, {}],
        ['create', 'users', { email: newEmail(), password: 'long enough' }, {}]
      ] as Array<[string, string, ...unknown[]]>) {
        const { error } = await emit(socket, method, path, ...args)
        expect(error.code, `${method} ${path}`).toBeGreaterThanOrEqual(500)
        expect(error.message).toMatch(/^(Internal server error|The database is unavailable; retry later)$/)
        expect(error).not.toHaveProperty('stack')
        expect(JSON.stringify(error)).not.toMatch(INTERNALS)
      }
    })

    it('requests that need no database still answer: unknown paths are 404', async () => {
      const response = await fetch(`${server.url}/nope`)
      expect(response.status).toBe(404)
      expect((await json(response)).body).toMatchObject({ code: 404 })
    })
  })
})
