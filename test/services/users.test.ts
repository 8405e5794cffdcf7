import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from '../helpers/backends.js'
import { connect, failure, newEmail, signedIn, TRANSPORTS, type Transport } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/** Nothing a client receives about a user may carry the password or its (bcrypt) hash. */
const expectNoSecrets = (value: unknown, password: string) => {
  const json = JSON.stringify(value)
  expect(json).not.toContain('"password"')
  expect(json).not.toContain(password)
  expect(json).not.toMatch(/\$2[aby]?\$\d\d\$/)
}

describeBackends('users: sign-up, login, privacy', (backend) => {
  let server: TestServer
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server.close()
  })

  /** A client whose close() runs in afterAll, whatever happens in the test. */
  const open = (transport: Transport) => {
    const connection = connect(server.url, transport)
    opened.push(connection)
    return connection
  }
  const signUp = async (transport: Transport, email?: string) => {
    const user = await signedIn(server.url, transport, email)
    opened.push(user)
    return user
  }

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('signs up with POST /users; the answer is the public user, without the password or its hash', async () => {
        const { client } = open(transport)
        const email = newEmail()
        const password = 'correct horse battery'
        const user = await client.service('users').create({ email, password })
        expect(Object.keys(user).sort()).toEqual(['createdAt', 'email', 'id'])
        expect(user).toMatchObject({ email })
        expect(typeof user.id).toBe('string')
        expect(Number.isNaN(Date.parse(user.createdAt))).toBe(false)
        expectNoSecrets(user, password)
      })

      it('no later read carries the password either: the login answer and users.get of yourself', async () => {
        const { client } = open(transport)
        const email = newEmail()
        const password = 'another secret pw'
        const created = await client.service('users').create({ email, password })

        const login = await client.authenticate({ strategy: 'local', email, password })
        expect(login.user).toEqual(created)
        expect(typeof login.accessToken).toBe('string')
        expectNoSecrets(login, password)

        const self = await client.service('users').get(created.id)
        expect(self).toEqual(created)
        expectNoSecrets(self, password)

        // Re-authenticating with the stored token (what a reconnecting client does).
        const again = await client.reAuthenticate(true)
        expect(again.user).toEqual(created)
        expectNoSecrets(again, password)
      })

      it('stores the password as a bcrypt hash, never as sent', async () => {
        const me = await signUp(transport)
        const stored = await server.storage.findUserByEmail(me.email)
        expect(stored).toBeDefined()
        expect(stored!.password).toMatch(/^\$2[aby]?\$\d\d\$/)
        expect(stored!.password).not.toContain(me.password)
      })

      it('matches e-mail addresses case-insensitively at login and sign-up', async () => {
        const local = newEmail()
        const mixed = local.replace(/^user/, 'UsEr').replace('example.com', 'Example.COM')
        const { client } = open(transport)
        const password = 'case-insensitive'
        const user = await client.service('users').create({ email: mixed, password })
        expect(user.email).toBe(mixed.toLowerCase())

        const login = await client.authenticate({ strategy: 'local', email: mixed.toUpperCase(), password })
        expect(login.user.id).toBe(user.id)

        const duplicate = await failure(open(transport).client.service('users').create({ email: mixed.toLowerCase(), password }))
        expect(duplicate.code).toBe(409)
      })

      it('refuses a second account for the same e-mail with 409', async () => {
        const me = await signUp(transport)
        const error = await failure(open(transport).client.service('users').create({ email: me.email, password: 'whatever-123' }))
        expect(error.code).toBe(409)
        expect(error.message).toMatch(/already exists/)
        expectNoSecrets(error, me.password)
      })

      it('a wrong password or an unknown e-mail is 401, with the same message', async () => {
        const me = await signUp(transport)
        const wrong = await failure(open(transport).client.authenticate({ strategy: 'local', email: me.email, password: 'not-the-password' }))
        expect(wrong.code).toBe(401)
        const unknown = await failure(
          open(transport).client.authenticate({ strategy: 'local', email: newEmail(), password: 'not-the-password' })
        )
        expect(unknown.code).toBe(401)
        expect(unknown.message).toBe(wrong.message)
      })

      it('users.get of another user is 404, like an id that does not exist', async () => {
        const me = await signUp(transport)
        const other = await signUp(transport)
        const error = await failure(me.client.service('users').get(other.user.id))
        expect(error.code).toBe(404)
        expectNoSecrets(error, other.password)
        const missing = await failure(me.client.service('users').get('00000000-0000-4000-8000-000000000000'))
        expect(missing.code).toBe(404)
        expect(missing.name).toBe(error.name)
      })

      it('users.get without logging in is 401', async () => {
        const me = await signUp(transport)
        const error = await failure(open(transport).client.service('users').get(me.user.id))
        expect(error.code).toBe(401)
      })

      it('a password shorter than 8 characters is 400 and creates no user', async () => {
        const email = newEmail()
        const error = await failure(open(transport).client.service('users').create({ email, password: 'short' }))
        expect(error.code).toBe(400)
        expect(error.message).toMatch(/password/)
        expect(await server.storage.findUserByEmail(email)).toBeUndefined()
      })

      it('an invalid e-mail or an unknown field is 400 and creates no user', async () => {
        const invalid = await failure(open(transport).client.service('users').create({ email: 'not-an-email', password: 'long enough' }))
        expect(invalid.code).toBe(400)
        expect(invalid.message).toMatch(/email/)

        const email = newEmail()
        const users = open(transport).client.service('users') as unknown as { create(data: unknown): Promise<unknown> }
        const extra = await failure(users.create({ email, password: 'long enough', admin: true }))
        expect(extra.code).toBe(400)
        expect(extra.message).toMatch(/"admin"/)
        expect(await server.storage.findUserByEmail(email)).toBeUndefined()
      })
    })
  }

  describe('over REST only', () => {
    it('does not expose find (nor update, patch, remove) on /users: 405', async () => {
      const me = await signUp('rest')
      const accessToken = await me.client.authentication.getAccessToken()
      const headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }

      const list = await fetch(`${server.url}/users`, { headers })
      expect(list.status).toBe(405)
      const listBody = await list.json()
      expect(listBody).toMatchObject({ code: 405, name: 'MethodNotAllowed' })
      expect(JSON.stringify(listBody)).not.toContain(me.email)

      const byEmail = await fetch(`${server.url}/users?email=${encodeURIComponent(me.email)}`, { headers })
      expect(byEmail.status).toBe(405)
      expect(JSON.stringify(await byEmail.json())).not.toContain(me.email)

      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const response = await fetch(`${server.url}/users/${me.user.id}`, { method, headers, body: method === 'DELETE' ? undefined : '{}' })
        expect(response.status).toBe(405)
      }
      expect(await server.storage.getUser(me.user.id)).toBeDefined()
    })

    it('a raw sign-up answer has no password or hash and is 201', async () => {
      const email = newEmail()
      const password = 'raw-fetch-password'
      const response = await fetch(`${server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password })
      })
      expect(response.status).toBe(201)
      const text = await response.text()
      expectNoSecrets(JSON.parse(text), password)
    })
  })
})

describeBackends('users: sign-up disabled', (backend) => {
  let server: TestServer
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend, { signup: false })
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    it(`POST /users over ${transport} is 403 and creates no user`, async () => {
      const connection = connect(server.url, transport)
      opened.push(connection)
      const email = newEmail()
      const error = await failure(connection.client.service('users').create({ email, password: 'long enough pw' }))
      expect(error.code).toBe(403)
      expect(error.message).toMatch(/disabled/)
      expect(await server.storage.findUserByEmail(email)).toBeUndefined()
    })
  }

  it('even an invalid sign-up is 403 (nothing is validated or hashed first)', async () => {
    const response = await fetch(`${server.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'x', password: '1' })
    })
    expect(response.status).toBe(403)
  })

  it('accounts created on the server side still log in', async () => {
    const email = newEmail()
    const password = 'made by an admin'
    // No provider: an internal call, as an admin script would make.
    await server.app.service('users').create({ email, password }, {})
    const connection = connect(server.url, 'rest')
    opened.push(connection)
    const login = await connection.client.authenticate({ strategy: 'local', email, password })
    expect(login.user.email).toBe(email)
    expectNoSecrets(login, password)
  })
})
