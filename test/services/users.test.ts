import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import type { EmailStrategy } from '../../src/authentication.js'
import { describeBackends } from '../helpers/backends.js'
import { connect, failure, newEmail, signedIn, TRANSPORTS, type Transport } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/** Nothing a client receives about a user may carry the password or its hash (argon2id, or bcrypt from older versions). */
const expectNoSecrets = (value: unknown, password: string) => {
  const json = JSON.stringify(value)
  expect(json).not.toContain('"password"')
  expect(json).not.toContain(password)
  expect(json).not.toMatch(/\$2[aby]?\$\d\d\$/)
  expect(json).not.toContain('$argon2')
}

/** The local strategy's password hashing, to watch (not replace) what a request costs. */
const passwordsOf = (server: TestServer) => (server.app.service('authentication').getStrategy('local') as EmailStrategy).passwords

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
  afterEach(() => {
    vi.restoreAllMocks()
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

      it('stores the password as an argon2id hash at the configured cost, never as sent', async () => {
        const me = await signUp(transport)
        const stored = await server.storage.findUserByEmail(me.email)
        expect(stored).toBeDefined()
        const { memoryCost, timeCost } = server.app.get('authentication').local
        expect(stored!.password).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${memoryCost},t=${timeCost},p=1\\$`))
        expect(stored!.password).not.toContain(me.password)
      })

      it('trims and lower-cases the address at sign-up (it is not refused), and sign-in matches it the same way', async () => {
        const email = newEmail()
        const password = 'spaces around it'
        const spaced = `  ${email.toUpperCase()}\t `
        const user = await open(transport).client.service('users').create({ email: spaced, password })
        expect(user.email).toBe(email)
        expect((await server.storage.findUserByEmail(email))?.id).toBe(user.id)
        const login = await open(transport).client.authenticate({ strategy: 'local', email: ` ${email} `, password })
        expect(login.user.id).toBe(user.id)
        const again = await failure(open(transport).client.service('users').create({ email: ` ${email}`, password }))
        expect(again.code).toBe(409)
      })

      it('a taken address is answered 409 without hashing the password first', async () => {
        const me = await signUp(transport)
        const hash = vi.spyOn(passwordsOf(server), 'hash')
        const error = await failure(open(transport).client.service('users').create({ email: me.email, password: 'never hashed at all' }))
        expect(error.code).toBe(409)
        expect(hash).not.toHaveBeenCalled()
        // …while a free address is hashed (the spy does see sign-ups).
        await open(transport).client.service('users').create({ email: newEmail(), password: 'hashed this time' })
        expect(hash).toHaveBeenCalledTimes(1)
      })

      it('an unknown address costs the same password verification as a wrong password (timing tells nothing)', async () => {
        const me = await signUp(transport)
        const passwords = passwordsOf(server)
        const nobody = vi.spyOn(passwords, 'verifyNobody')
        const verify = vi.spyOn(passwords, 'verify')

        const unknown = await failure(open(transport).client.authenticate({ strategy: 'local', email: newEmail(), password: 'a guess at it' }))
        expect(unknown.code).toBe(401)
        expect(nobody).toHaveBeenCalledTimes(1)
        expect(verify).not.toHaveBeenCalled()
        // The dummy hash it verifies against has the same cost as real ones.
        const dummy = await passwords.prepare()
        const real = (await server.storage.findUserByEmail(me.email))!.password
        expect(dummy.split('$').slice(0, 4)).toEqual(real.split('$').slice(0, 4))

        const wrong = await failure(open(transport).client.authenticate({ strategy: 'local', email: me.email, password: 'a guess at it' }))
        expect(wrong.code).toBe(401)
        expect(verify).toHaveBeenCalledTimes(1)
        expect(nobody).toHaveBeenCalledTimes(1)
      })

      for (const version of ['2a', '2b', '2y'] as const) {
        it(`accepts a bcrypt hash of older versions ($${version}$) and replaces it with argon2id at the next sign-in`, async () => {
          const email = newEmail()
          const password = 'from the bcrypt days'
          // $2a$, $2b$ and $2y$ are one algorithm for such passwords; only the prefix differs.
          const legacy = (await bcryptHash(password, 4)).replace(/^\$2b\$/, `$${version}$`)
          expect(legacy.startsWith(`$${version}$04$`)).toBe(true)
          const created = await server.storage.createUser({ email, password: legacy }, new Date().toISOString())

          const wrong = await failure(open(transport).client.authenticate({ strategy: 'local', email, password: 'not from then' }))
          expect(wrong.code).toBe(401)
          expect((await server.storage.getUser(created.id))!.password).toBe(legacy)

          const login = await open(transport).client.authenticate({ strategy: 'local', email, password })
          expect(login.user.id).toBe(created.id)
          expectNoSecrets(login, password)
          const upgraded = (await server.storage.getUser(created.id))!.password
          expect(upgraded).toMatch(/^\$argon2id\$/)

          const again = await open(transport).client.authenticate({ strategy: 'local', email, password })
          expect(again.user.id).toBe(created.id)
          expect((await server.storage.getUser(created.id))!.password).toBe(upgraded)
        })
      }

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

      it('an array of accounts, or a body that is no object, is 400 and creates no user', async () => {
        const email = newEmail()
        const users = open(transport).client.service('users') as unknown as { create(data: unknown): Promise<unknown> }
        for (const body of [[{ email, password: 'long enough pw' }], [], null, 'text', 42]) {
          const error = await failure(users.create(body))
          expect(error.code, JSON.stringify(body)).toBe(400)
          expect(error.message).toMatch(/"data"|not valid JSON/)
        }
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
