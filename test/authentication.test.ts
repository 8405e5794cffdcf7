import { createHmac } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from './helpers/backends.js'
import { deleteUserBehindTheServer, setEmailBehindTheServer } from './helpers/behind-the-server.js'
import { connect, failure, newEmail, signedIn, TRANSPORTS, type TestClient, type Transport } from './helpers/clients.js'
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
    // `exp` is whole seconds after a whole-second `iat`: '2s' lives 1–2 s, long enough for two calls.
    const token = await server.app.service('authentication').createAccessToken({ sub: owner.user.id }, { expiresIn: '2s' })
    expect(await listCollections(token)).toBe(200)
    expect(await listCollections(token)).toBe(200)
    await sleep(2_100)
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

/** An HS256 token signed with the server's own secret, with exactly these claims (Roost would always add `exp`). */
function forgeToken(secret: string, claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode({ alg: 'HS256', typ: 'access' })}.${encode(claims)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

/** A service method that takes whatever a hostile client sends. */
type Untyped = { create(data: unknown): Promise<unknown> }

describeBackends('authentication: bodies, tokens and users checked on every call', (backend) => {
  let server: TestServer
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  const open = (transport: Transport) => {
    const connection = connect(server.url, transport)
    opened.push(connection)
    return connection
  }
  const user = async (transport: Transport) => {
    const signed = await signedIn(server.url, transport)
    opened.push(signed)
    return signed
  }
  const deleteUser = (id: string) => deleteUserBehindTheServer(server, id)

  const email = 'someone@example.com'
  /** Bodies of sign-in (POST /authentication) that used to be 500s or worse, and the field the 400 must name. */
  const badSignIns: Array<[string, unknown, RegExp]> = [
    ['a number as e-mail', { strategy: 'local', email: 42, password: 'long enough pw' }, /"data\.email" must be string/],
    ['an object as e-mail', { strategy: 'local', email: { $ne: '' }, password: 'long enough pw' }, /"data\.email" must be string/],
    ['an array as e-mail', { strategy: 'local', email: [email], password: 'long enough pw' }, /"data\.email" must be string/],
    ['null as e-mail', { strategy: 'local', email: null, password: 'long enough pw' }, /"data\.email" must be string/],
    ['a number as password', { strategy: 'local', email, password: 12345678 }, /"data\.password" must be string/],
    ['an object as password', { strategy: 'local', email, password: { length: 8 } }, /"data\.password" must be string/],
    ['an array as password', { strategy: 'local', email, password: ['long enough pw'] }, /"data\.password" must be string/],
    ['null as password', { strategy: 'local', email, password: null }, /"data\.password" must be string/],
    ['no strategy', { email, password: 'long enough pw' }, /"data\.strategy" must be "local" or "jwt" \(it is missing\)/],
    ['an unknown strategy', { strategy: 'oauth', email, password: 'long enough pw' }, /"data\.strategy" must be "local" or "jwt"/],
    ['a number as strategy', { strategy: 1, email, password: 'long enough pw' }, /"data\.strategy"/],
    ['no password', { strategy: 'local', email }, /"data" is missing "password"/],
    ['no e-mail', { strategy: 'local', password: 'long enough pw' }, /"data" is missing "email"/],
    ['an extra field', { strategy: 'local', email, password: 'long enough pw', admin: true }, /unknown field "admin"/],
    ['a password over 1024 characters', { strategy: 'local', email, password: 'x'.repeat(1025) }, /"data\.password" must NOT have more than 1024 characters/],
    ['jwt without a token', { strategy: 'jwt' }, /"data" is missing "accessToken"/],
    ['jwt with a number as token', { strategy: 'jwt', accessToken: 42 }, /"data\.accessToken" must be string/],
    ['jwt with an object as token', { strategy: 'jwt', accessToken: {} }, /"data\.accessToken" must be string/],
    ['an array as body', [{ strategy: 'local', email, password: 'long enough pw' }], /"data" must be an object/],
    // Over REST the body parser answers first: null arrives as {}, a bare string is not JSON it accepts.
    ['null as body', null, /"data" must be an object|"data\.strategy" must be/],
    ['a string as body', 'local', /"data" must be an object|not valid JSON/]
  ]
  /** Bodies of sign-up (POST /users) of the same kinds. */
  const badSignUps: Array<[string, unknown, RegExp]> = [
    ['a number as e-mail', { email: 42, password: 'long enough pw' }, /"data\.email" must be string/],
    ['an object as e-mail', { email: { a: 1 }, password: 'long enough pw' }, /"data\.email" must be string/],
    ['an array as e-mail', { email: [email], password: 'long enough pw' }, /"data\.email" must be string/],
    ['null as e-mail', { email: null, password: 'long enough pw' }, /"data\.email" must be string/],
    ['a number as password', { email, password: 12345678 }, /"data\.password" must be string/],
    ['an object as password', { email, password: {} }, /"data\.password" must be string/],
    ['null as password', { email, password: null }, /"data\.password" must be string/],
    ['no password', { email }, /"data" is missing "password"/],
    ['no e-mail', { password: 'long enough pw' }, /"data" is missing "email"/]
  ]

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      for (const [what, body, message] of badSignIns) {
        it(`sign-in with ${what} is 400 naming the problem`, async () => {
          const error = await failure((open(transport).client.service('authentication' as never) as Untyped).create(body))
          expect(error.code).toBe(400)
          expect(error.message).toMatch(message)
        })
      }

      for (const [what, body, message] of badSignUps) {
        it(`sign-up with ${what} is 400 naming the problem, and creates no user`, async () => {
          const error = await failure((open(transport).client.service('users') as unknown as Untyped).create(body))
          expect(error.code).toBe(400)
          expect(error.message).toMatch(message)
          expect(await server.storage.findUserByEmail(email)).toBeUndefined()
        })
      }

      it('a token without an expiry, signed with the server secret, is refused with 401', async () => {
        const me = await user(transport)
        const secret = server.app.get('authentication').secret
        const claims = { sub: me.user.id, aud: 'roost', iss: 'roost', iat: Math.floor(Date.now() / 1000) }
        const forever = forgeToken(secret, claims)
        const fresh = open(transport)
        const error = await failure(fresh.client.authenticate({ strategy: 'jwt', accessToken: forever }))
        expect(error.code).toBe(401)
        expect(error.message).toMatch(/no expiry/)
        // The same claims with an expiry are accepted: only the missing `exp` was refused.
        const expiring = forgeToken(secret, { ...claims, exp: claims.iat + 60 })
        const login = await open(transport).client.authenticate({ strategy: 'jwt', accessToken: expiring })
        expect(login.user.id).toBe(me.user.id)
      })

      it('a deleted user is refused on the very next call with its token', async () => {
        const me = await user(transport)
        await me.client.service('collections').find({})
        await deleteUser(me.user.id)
        const error = await failure(me.client.service('collections').find({}))
        expect(error.code).toBe(401)
      })

      it('a changed user is seen on the very next call', async () => {
        const me = await user(transport)
        expect((await me.client.service('users').get(me.user.id)).email).toBe(me.email)
        const renamed = newEmail()
        await setEmailBehindTheServer(server, me.user.id, renamed)
        expect((await me.client.service('users').get(me.user.id)).email).toBe(renamed)
      })
    })
  }

  it('a deleted user is refused over REST even with a token verified a moment before (nothing cached for 5 s)', async () => {
    const me = await user('rest')
    const token = await me.client.authentication.getAccessToken()
    const list = () => fetch(`${server.url}/collections`, { headers: { authorization: `Bearer ${token}` } })
    expect((await list()).status).toBe(200)
    await deleteUser(me.user.id)
    const response = await list()
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ message: 'The user of this token does not exist' })
  })

  it('DELETE /authentication/:token without a token of your own is 401, not a 500; with it, 200', async () => {
    const response = await fetch(`${server.url}/authentication/some-token`, { method: 'DELETE' })
    expect(response.status).toBe(401)
    expect((await fetch(`${server.url}/authentication`, { method: 'DELETE' })).status).toBe(401)

    const me = await user('rest')
    const token = await me.client.authentication.getAccessToken()
    const signOut = await fetch(`${server.url}/authentication/${token}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    expect(signOut.status).toBe(200)
    expect((await signOut.json()).user.id).toBe(me.user.id)
  })

  it('logout over socket.io still signs the socket out', async () => {
    const me = await user('socketio')
    await me.client.logout()
    expect((await failure(me.client.service('collections').find({}))).code).toBe(401)
  })

  it('a raw REST sign-in with a JSON null or array body is 400', async () => {
    for (const body of ['null', '[]', '42', '"local"']) {
      const response = await fetch(`${server.url}/authentication`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(response.status, body).toBe(400)
    }
  })
})
