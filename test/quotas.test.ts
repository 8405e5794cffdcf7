import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from './helpers/backends.js'
import { device, failure, jsonHeaders, newEmail, signedIn, TRANSPORTS, type TestClient } from './helpers/clients.js'
import { startServer, TestClock, type TestServer } from './helpers/server.js'

/**
 * Per-user quotas (issue 12): collections owned per user
 * (`quotas.collectionsPerUser`) and pending invitations per collection
 * (`quotas.pendingInvitationsPerCollection`). Reaching one is a 429 with
 * `data.retryAfterSeconds` (and Retry-After over REST); both are checked
 * inside the creating transaction, so parallel creates from several
 * connections cannot overshoot: each takes the user (or the collection)
 * first, backend.ts takeUser/takeCollection, a row lock on SQL
 * (src/storage/knex/sql/users.ts, collections.ts). Without those locks,
 * PostgreSQL let 10 of 18 parallel creates through against a quota of 5,
 * and 10 of 12 invitations against 4.
 */

const COLLECTIONS = 5
const PENDING = 4

describeBackends('quotas', (backend) => {
  let server: TestServer
  const clock = new TestClock()
  const clients: TestClient[] = []

  beforeAll(async () => {
    server = await startServer(backend, { quotas: { collectionsPerUser: COLLECTIONS, pendingInvitationsPerCollection: PENDING } }, { clock: clock.now })
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

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it(`a user owns at most quotas.collectionsPerUser (${COLLECTIONS}) collections: 429 with retryAfterSeconds, nothing created`, async () => {
        const { client, user: me } = await user(transport)
        for (let index = 0; index < COLLECTIONS; index++) await client.service('collections').create({ name: `c${index}` })
        const error = await failure(client.service('collections').create({ id: `over-${transport}-${me.id}`, name: 'one too many' }))
        expect(error).toMatchObject({ code: 429, name: 'TooManyRequests', message: expect.stringMatching(/the limit is 5 \(quotas\.collectionsPerUser\)/) })
        expect(error.data?.retryAfterSeconds).toBeGreaterThan(0)
        expect((await client.service('collections').find()).total).toBe(COLLECTIONS)
        expect(await server.storage.getCollection(`over-${transport}-${me.id}`)).toBeUndefined()
        // Deleting one makes room again.
        const [first] = (await client.service('collections').find()).data
        await client.service('collections').remove(first.id)
        expect(await client.service('collections').create({ name: 'room again' })).toMatchObject({ role: 'owner' })
      })

      it(`a collection has at most quotas.pendingInvitationsPerCollection (${PENDING}) pending invitations; revoked and expired ones make room`, async () => {
        const { client } = await user(transport)
        const collection = await client.service('collections').create({})
        const invite = (ttlSeconds?: number) =>
          client.service('invitations').create({ collectionId: collection.id, role: 'reader', email: newEmail(), ...(ttlSeconds === undefined ? {} : { ttlSeconds }) })
        // Four, a second apart, each for 100 s: they expire at +100, +101, +102 and +103 s.
        for (let index = 0; index < PENDING; index++) {
          if (index > 0) clock.advance(1)
          await invite(100)
        }
        const error = await failure(invite())
        expect(error).toMatchObject({ code: 429, message: expect.stringMatching(/the limit is 4 \(quotas\.pendingInvitationsPerCollection\)/) })
        // Until the first pending one expires: 100 s after it was made, 3 s ago.
        expect(error.data?.retryAfterSeconds).toBe(97)
        expect((await client.service('invitations').find({ query: { collectionId: collection.id } })).total).toBe(PENDING)
        // Revoking one makes room at once.
        const [newest] = (await client.service('invitations').find({ query: { collectionId: collection.id, status: 'pending' } })).data
        await client.service('invitations').remove(newest.id)
        await invite()
        expect(await failure(invite())).toMatchObject({ code: 429 })
        // Expiring makes room too: at +101 s the first two have expired.
        clock.advance(98)
        await invite()
        await invite()
        expect(await failure(invite())).toMatchObject({ code: 429 })
      })
    })
  }

  it('REST answers a reached quota with a Retry-After header', async () => {
    const owner = await user('rest')
    for (let index = 0; index < COLLECTIONS; index++) await owner.client.service('collections').create({})
    const response = await fetch(`${server.url}/collections`, { method: 'POST', headers: await jsonHeaders(owner), body: '{}' })
    expect(response.status).toBe(429)
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('parallel creates from several connections of one user stop exactly at the quota', async () => {
    const owner = await user('rest')
    const connections = await Promise.all(
      Array.from({ length: 6 }, (_, index) => device(server.url, index % 2 === 0 ? 'rest' : 'socketio', owner))
    )
    try {
      const attempts = connections.flatMap((connection) => Array.from({ length: 3 }, () => connection.client.service('collections').create({})))
      const outcomes = await Promise.allSettled(attempts)
      const created = outcomes.filter((outcome) => outcome.status === 'fulfilled').length
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code: number }).code] : []))
      expect(created).toBe(COLLECTIONS)
      expect(refused).toEqual(Array.from({ length: 18 - COLLECTIONS }, () => 429))
      expect((await owner.client.service('collections').find()).total).toBe(COLLECTIONS)
    } finally {
      connections.forEach((connection) => connection.close())
    }
  })

  it('parallel invitations to one collection from several managers stop exactly at the quota', async () => {
    const owner = await user('socketio')
    const collection = await owner.client.service('collections').create({})
    const admins = await Promise.all([user('rest'), user('socketio'), user('rest')])
    for (const admin of admins) await owner.client.service(`collections/${collection.id}/members` as never as 'collections').create({ userId: admin.user.id, role: 'admin' } as never)
    const attempts = [owner, ...admins].flatMap((manager) =>
      Array.from({ length: 3 }, () => manager.client.service('invitations').create({ collectionId: collection.id, role: 'reader', email: newEmail() }))
    )
    const outcomes = await Promise.allSettled(attempts)
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled').length).toBe(PENDING)
    expect(outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code: number }).code] : []))).toEqual(
      Array.from({ length: 12 - PENDING }, () => 429)
    )
    expect((await owner.client.service('invitations').find({ query: { collectionId: collection.id, status: 'pending' } })).total).toBe(PENDING)
  })
})
