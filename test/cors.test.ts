import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from './helpers/backends.js'
import { startServer, type TestServer } from './helpers/server.js'

const APP = 'http://127.0.0.1:1234'
const OTHER = 'http://127.0.0.1:5678'

/** Every request header the client library (src/client/transport/rest.ts and the engine) may send. */
const CLIENT_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'lock-token', 'x-service-method']

/**
 * A browser app on another origin calls the server only if the CORS
 * preflight (OPTIONS) answers with an ok status and allows the method and
 * headers; config `origins` says which origins.
 */
describeBackends('CORS', (backend) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(backend, { origins: [APP] })
  })
  afterAll(async () => {
    await server?.close()
  })

  const preflight = (path: string, method: string, origin = APP) =>
    fetch(`${server.url}/${path}`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': CLIENT_HEADERS.join(',') }
    })

  describe('a preflight from an allowed origin answers 2xx and allows the client’s method and headers', () => {
    const calls: Array<[string, string]> = [
      ['authentication', 'POST'],
      ['users', 'POST'],
      ['collections', 'POST'],
      ['collections/notes/records/a', 'PUT'],
      ['collections/notes/records/a', 'DELETE'],
      ['collections/notes/changes', 'GET'],
      ['batches/b1', 'POST'],
      ['locks', 'POST']
    ]
    for (const [path, method] of calls) {
      it(`${method} /${path}`, async () => {
        const answer = await preflight(path, method)
        // A 404 here (the path has no OPTIONS handler) fails the preflight in every browser.
        expect(answer.ok).toBe(true)
        expect(answer.headers.get('access-control-allow-origin')).toBe(APP)
        expect(answer.headers.get('access-control-allow-methods')?.split(',')).toContain(method)
        const allowed = (answer.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/)
        for (const header of CLIENT_HEADERS) expect(allowed).toContain(header)
      })
    }
  })

  it('a preflight from another origin is not allowed', async () => {
    const answer = await preflight('authentication', 'POST', OTHER)
    expect(answer.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('an answer to an allowed origin lets it read the headers the client needs', async () => {
    const answer = await fetch(`${server.url}/collections`, { headers: { Origin: APP } })
    expect(answer.status).toBe(401)
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP)
    const exposed = (answer.headers.get('access-control-expose-headers') ?? '').split(/\s*,\s*/)
    expect(exposed).toEqual(expect.arrayContaining(['ETag', 'Idempotent-Replayed', 'Retry-After']))
  })

  it('socket.io allows the app’s origin and no other (its polling transport is under CORS; websockets are not)', async () => {
    const handshake = (origin: string) => fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: origin } })
    const allowed = await handshake(APP)
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP)
    expect((await handshake(OTHER)).headers.get('access-control-allow-origin')).toBeNull()
  })

  it('an unknown path is still a 404, preflight or not', async () => {
    expect((await fetch(`${server.url}/nope`, { headers: { Origin: APP } })).status).toBe(404)
    expect((await fetch(`${server.url}/nope`, { method: 'OPTIONS', headers: { Origin: APP } })).status).toBe(404)
  })
})
