import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, locksClient, membersClient, recordsClient } from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { failure, newEmail, signedIn, TRANSPORTS, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'
import { rawSocket } from './fuzz/raw-socket.js'

/**
 * Issue 12's input edges that are not refusals: what Roost serves correctly
 * (ids named like Object.prototype's properties, any text inside record
 * data, e-mail addresses with spaces around them, a query string at its
 * parameter limit), and the deepest bodies, which are refused on both
 * transports without harming the server. bad-input.test.ts has the refusals.
 */

/** Every name of Object.prototype but "__proto__" (refused as an id, see src/ids.ts). */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__')

/** JSON text of an array nested `levels` deep (built as text: JSON.stringify itself recurses). */
const deepJson = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`

describeBackends('input edges', (backend) => {
  let server: TestServer
  const clients: TestClient[] = []

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    clients.forEach((client) => client.close())
    await server?.close()
  })

  const user = async (transport: (typeof TRANSPORTS)[number]) => {
    const client = await signedIn(server.url, transport)
    clients.push(client)
    return client
  }

  it('has the names to try', () => {
    expect(PROTOTYPE_NAMES).toEqual(expect.arrayContaining(['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', '__defineGetter__']))
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('records whose ids are names of Object.prototype round-trip: create, get, find, update, patch, remove, feed, remove-many', async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({ name: 'prototype names' })
        const records = recordsClient(client, collection.id)
        for (const id of PROTOTYPE_NAMES) {
          expect(await records.create({ id, data: { id } }), id).toMatchObject({ id, version: 1, data: { id } })
          expect(await records.get(id)).toMatchObject({ id, version: 1, data: { id } })
          expect((await records.find({ query: { id } })).data.map((record) => record.id)).toEqual([id])
          expect(await records.update(id, { data: { id, again: true }, version: 1 })).toMatchObject({ version: 2 })
          expect(await records.patch(id, { data: { more: 1 }, version: 2 })).toMatchObject({ version: 3, data: { id, again: true, more: 1 } })
        }
        const [first, second, ...rest] = PROTOTYPE_NAMES
        expect(await records.remove(first, { query: { version: 3 } })).toMatchObject({ id: first, deleted: true, version: 4 })
        // Several at once: the ids are keys of `versions` (a query string over REST).
        const removed = (await (client.service(`collections/${collection.id}/records` as never) as { remove(id: null, params: object): Promise<unknown> }).remove(null, {
          query: { versions: { [second]: 3, [rest[0]]: 3 } }
        })) as Array<{ id: string; deleted: boolean }>
        expect(removed.map((record) => [record.id, record.deleted]).sort()).toEqual([[second, true], [rest[0], true]].sort())
        const feed = await changesClient(client, collection.id).find()
        expect(feed.changes.map((record) => record.id).sort()).toEqual([...PROTOTYPE_NAMES].sort())
        expect((await records.find()).data.map((record) => record.id).sort()).toEqual(rest.slice(1).sort())
      })

      it('collections whose ids are names of Object.prototype work everywhere: records, feed, members, locks, batches', async () => {
        const { client, user: me } = await user(transport)
        for (const name of PROTOTYPE_NAMES) {
          // Ids are global: one per transport, both named like the prototype's property.
          const id = transport === 'rest' ? name : `${name}~`
          const created = await client.service('collections').create({ id, name })
          expect(created).toMatchObject({ id, role: 'owner' })
          expect(await client.service('collections').get(id)).toMatchObject({ id, name })
          expect(await client.service('collections').patch(id, { name: `${name}!` })).toMatchObject({ name: `${name}!` })
          await recordsClient(client, id).create({ id: name, data: 1 })
          expect((await changesClient(client, id).find()).changes.map((record) => record.id)).toEqual([name])
          expect((await membersClient(client, id).find()).data.map((member) => member.userId)).toEqual([me.id])
          const lock = await locksClient(client, id).create({ holder: 'device' })
          expect(lock).toMatchObject({ collectionId: id, holder: 'device' })
          // A batch names the collection as a key (`since`, `lockTokens`).
          const batch = await client.service('batches').create({})
          await client.service('batches').append({ id: batch.id, operations: [{ op: 'put', collectionId: id, id: 'via-batch', ifNotExists: true, data: 2 }] })
          const committed = await client.service('batches').commit({ id: batch.id, since: { [id]: created.cursor.replace(/^0\./, '1.') }, lockTokens: { [id]: lock.token } })
          expect(committed.status).toBe('committed')
          expect(Object.keys(committed.cursors ?? {})).toEqual([id])
          await locksClient(client, id).remove('device')
          expect(await client.service('collections').remove(id)).toMatchObject({ id })
          expect(await failure(client.service('collections').get(id))).toMatchObject({ code: 404 })
        }
      })

      it('batch ids and lock holders that are names of Object.prototype work too', async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({})
        for (const name of PROTOTYPE_NAMES) {
          const id = `${name}${transport === 'rest' ? '' : '~'}`
          const batch = await client.service('batches').create({ id })
          expect(batch).toMatchObject({ id, status: 'open' })
          expect(await client.service('batches').get(id)).toMatchObject({ id })
          await client.service('batches').append({ id, operations: [{ op: 'put', collectionId: collection.id, id: name, ifNotExists: true, data: name }] })
          expect(await client.service('batches').commit({ id })).toMatchObject({ id, status: 'committed', results: [{ id: name, outcome: 'created' }] })
          const locks = locksClient(client, collection.id)
          expect(await locks.create({ holder: name })).toMatchObject({ holder: name })
          expect(await locks.get(name)).toMatchObject({ holder: name })
          expect(await locks.patch(name, { ttlSeconds: 30 })).toMatchObject({ holder: name })
          expect(await locks.remove(name)).toMatchObject({ holder: name, released: true })
        }
        expect((await recordsClient(client, collection.id).find({ query: { $limit: 100 } })).total).toBe(PROTOTYPE_NAMES.length)
      })

      it('record data keeps any text exactly: NUL, unpaired surrogates, right-to-left and astral characters, also as keys', async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({})
        const records = recordsClient(client, collection.id)
        const data = { 'nul\u0000key': 'a\u0000b', lone: '\ud800 and \udc00', rtl: '\u202eabc \u05e9\u05dc\u05d5\u05dd', astral: '🦆\u{1F600}', constructor: { prototype: 1 } }
        const created = await records.create({ id: 'text', data })
        expect(created.data).toEqual(data)
        expect((await records.get('text')).data).toEqual(data)
        expect((await changesClient(client, collection.id).find()).changes[0].data).toEqual(data)
      })

      it('data nested to the limit (100 levels with the body) is accepted', async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({})
        const data = JSON.parse(deepJson(99)) as unknown
        const created = await recordsClient(client, collection.id).create({ id: 'deep', data })
        expect(created.data).toEqual(data)
      })

      it('an invitation by e-mail trims and lower-cases the address, and its invitee finds it', async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({})
        const email = newEmail()
        const invitation = await client.service('invitations').create({ collectionId: collection.id, role: 'reader', email: `  ${email.toUpperCase()} \t` })
        expect(invitation.inviteeEmail).toBe(email)
        const invitee = await signedIn(server.url, transport, email)
        clients.push(invitee)
        expect((await invitee.client.service('invitations').find()).data.map((found) => found.id)).toEqual([invitation.id])
      })
    })
  }

  it('a body nested 10,000 levels deep is a 400 naming the limit over REST and over socket.io, and the server answers on', async () => {
    const owner = await user('rest')
    const token = (await owner.client.authentication.getAccessToken()) ?? ''
    const collection = await owner.client.service('collections').create({})
    const response = await fetch(`${server.url}/collections/${collection.id}/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: `{"data": ${deepJson(10_000)}}`
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toMatch(/nested more than 100 levels deep \(the limit\)/)

    const socket = await rawSocket(server.url, token)
    try {
      const body = await socket.call('create', `collections/${collection.id}/records`, [`{"data": ${deepJson(10_000)}}`, '{}'])
      expect(body.error).toMatchObject({ code: 400, message: expect.stringMatching(/"data" is nested more than 100 levels deep \(the limit\)/) })
      const query = await socket.call('find', `collections/${collection.id}/records`, [`{"id": ${deepJson(10_000)}}`])
      expect(query.error).toMatchObject({ code: 400, message: expect.stringMatching(/"query" is nested more than 100 levels deep/) })
      const id = await socket.call('get', `collections/${collection.id}/records`, [deepJson(10_000), '{}'])
      expect(id.error).toMatchObject({ code: 400 })
      // The same socket still works, and so does the server.
      const after = await socket.call('find', `collections/${collection.id}/records`, ['{}'])
      expect(after.error).toBeNull()
    } finally {
      socket.close()
    }
    expect((await recordsClient(owner.client, collection.id).find()).total).toBe(0)
  })

  it('a binary socket.io packet nested 10,000 levels deep ends that connection only (its parser recurses), and the server answers on', async () => {
    const owner = await user('rest')
    const token = (await owner.client.authentication.getAccessToken()) ?? ''
    const socket = await rawSocket(server.url, token)
    const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', (reason) => resolve(String(reason))))
    // BINARY_EVENT with one attachment, its placeholder 10,000 arrays down.
    const placeholder = `${'['.repeat(10_000)}{"_placeholder":true,"num":0}${']'.repeat(10_000)}`
    socket.socket.io.engine.send(`51-["create","collections",${placeholder},{}]`)
    socket.socket.io.engine.send(new Uint8Array([1, 2, 3]) as never)
    expect(await closed).toMatch(/transport close|io server disconnect|parse error/)
    socket.close()
    const again = await rawSocket(server.url, token)
    try {
      expect((await again.call('find', 'collections', ['{}'])).error).toBeNull()
    } finally {
      again.close()
    }
  })

  it('a socket.io call under a name no service has as a method is answered at once with 405', async () => {
    const owner = await user('rest')
    const token = (await owner.client.authentication.getAccessToken()) ?? ''
    const socket = await rawSocket(server.url, token)
    try {
      for (const method of ['constructor', '__proto__', 'toString', 'setup', 'hooks', 'announceChanges', 'typo']) {
        const { error } = await socket.call(method, 'collections', ['{}'], 2000)
        expect(error, method).toMatchObject({ code: 405, name: 'MethodNotAllowed' })
      }
      expect((await socket.call('find', 'collections', ['{}'])).error).toBeNull()
    } finally {
      socket.close()
    }
  })

  it('a query string of 3,000 parameters is read; one more is a 400 naming the limit', async () => {
    const owner = await user('rest')
    const token = (await owner.client.authentication.getAccessToken()) ?? ''
    const names = (count: number) => Array.from({ length: count }, (_, index) => index.toString(36)).join('&')
    const at = async (count: number) => {
      const response = await fetch(`${server.url}/collections?${names(count)}`, { headers: { authorization: `Bearer ${token}` } })
      return { status: response.status, message: ((await response.json()) as { message: string }).message }
    }
    // Read in full: validation then finds an unknown parameter (the first one), not a parser limit.
    expect(await at(3000)).toEqual({ status: 400, message: expect.stringMatching(/^"query" has an unknown field "0";/) })
    expect(await at(3001)).toEqual({ status: 400, message: expect.stringMatching(/at most 3000 parameters/) })
  })
})
