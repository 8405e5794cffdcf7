import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY } from '../src/http/security-headers.js'
import { describeBackends } from './helpers/backends.js'
import { newEmail } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/** The dashboard page's protections, on every HTTP answer: API results, errors, unknown paths and socket.io's own. */
const EXPECTED: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin'
}

describeBackends('security headers', (backend) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    await server?.close()
  })

  const headersOf = (response: Response) => Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, response.headers.get(name)]))

  it('the policy is the one PROTOCOL.md names', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(EXPECTED['content-security-policy'])
    const documented = readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8').match(/^Content-Security-Policy: (.+)$/m)?.[1]
    expect(documented).toBe(CONTENT_SECURITY_POLICY)
  })

  const requests: Array<[string, () => Promise<Response>, number]> = [
    ['a successful call (sign-up, 201)', () => fetch(`${server.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: newEmail(), password: 'long enough password' }) }), 201],
    ['an error from a service (401)', () => fetch(`${server.url}/collections`), 401],
    ['an error from the HTTP layer (bad JSON, 400)', () => fetch(`${server.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }), 400],
    ['a path nothing answers (404)', () => fetch(`${server.url}/no/such/page.html`), 404],
    ['a CORS preflight (204)', () => fetch(`${server.url}/collections`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3030', 'access-control-request-method': 'GET' } }), 204],
    ['socket.io’s long-polling handshake (200)', () => fetch(`${server.url}/socket.io/?EIO=4&transport=polling`), 200]
  ]
  for (const [what, request, status] of requests) {
    it(`on ${what}`, async () => {
      const response = await request()
      await response.arrayBuffer()
      expect(response.status).toBe(status)
      expect(headersOf(response)).toEqual(EXPECTED)
    })
  }
})
