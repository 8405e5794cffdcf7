import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locksClient, membersClient, recordsClient, type LockEvent } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { eventually, failure, jsonHeaders, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * The dashboard's locks tab: every member sees every live lease of the
 * collection (whose, with the holder's e-mail), and an owner breaks someone
 * else's (`$break: true`), which members hear as a `released` lock event and
 * which leaves the broken holder's token refused.
 */
describeBackends('locks: listing all and breaking one', (backend) => {
  let server: TestServer
  const opened: TestClient[] = []
  const user = async (transport: 'rest' | 'socketio') => {
    const client = await signedIn(server.url, transport)
    opened.push(client)
    return client
  }

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      let admin: TestClient
      let writer: TestClient
      let collectionId: string

      beforeAll(async () => {
        owner = await user(transport)
        admin = await user(transport)
        writer = await user(transport)
        collectionId = (await owner.client.service('collections').create({})).id
        await membersClient(owner.client, collectionId).create({ userId: admin.user.id, role: 'admin' })
        await membersClient(owner.client, collectionId).create({ userId: writer.user.id, role: 'writer' })
      })

      it('find lists every member’s live leases, with the holder’s e-mail, to any member', async () => {
        const mine = await locksClient(writer.client, collectionId).create({ holder: 'writer-laptop', mode: 'shared', ttlSeconds: 60 })
        const theirs = await locksClient(owner.client, collectionId).create({ holder: 'owner-phone', mode: 'shared', ttlSeconds: 60 })
        try {
          const seen = await locksClient(writer.client, collectionId).find()
          expect(seen).toEqual([
            { ...mine, email: writer.email },
            { ...theirs, email: owner.email }
          ])
        } finally {
          await locksClient(writer.client, collectionId).remove('writer-laptop')
          await locksClient(owner.client, collectionId).remove('owner-phone')
        }
      })

      it('an owner breaks the writer’s exclusive lock: members hear it released, the old token is refused, the next grant gets a higher token', async () => {
        const records = recordsClient(writer.client, collectionId)
        const record = await records.create({ data: { n: 1 } })
        const held = await locksClient(writer.client, collectionId).create({ holder: 'laptop', ttlSeconds: 300 })
        const heard: LockEvent[] = []
        if (transport === 'socketio') {
          await writer.client.service('subscriptions').create({ collectionId })
          writer.client.service('collections').on('lock', (event: LockEvent) => heard.push(event))
        }

        // An admin may not; a writer may not break even through $break.
        expect(await failure(locksClient(admin.client, collectionId).remove('laptop', { query: { $break: true } }))).toMatchObject({ code: 403, name: 'Forbidden' })
        expect(await failure(locksClient(writer.client, collectionId).remove('laptop', { query: { $break: true } }))).toMatchObject({ code: 403 })
        // Without $break, the owner's release is of her own holder "laptop", which she does not hold: nothing ends.
        expect(await locksClient(owner.client, collectionId).remove('laptop')).toEqual({ collectionId, holder: 'laptop', released: false })
        expect(await locksClient(owner.client, collectionId).find()).toHaveLength(1)

        const broken = await locksClient(owner.client, collectionId).remove('laptop', { query: { $break: true, userId: writer.user.id } })
        expect(broken).toEqual({ collectionId, holder: 'laptop', released: true })
        expect(await locksClient(owner.client, collectionId).find()).toEqual([])
        // Breaking again is harmless.
        expect(await locksClient(owner.client, collectionId).remove('laptop', { query: { $break: true } })).toMatchObject({ released: false })

        if (transport === 'socketio') {
          await eventually(() => heard.length > 0, 'the lock event')
          expect(heard).toEqual([{ collectionId, type: 'released', lock: held, brokenBy: owner.user.id }])
        }

        // The broken holder writes with its old token: the existing stale-token answer.
        const stale = await failure(records.update(record.id, { data: { n: 2 }, version: record.version }, { query: { $lockToken: held.token } }))
        expect(stale).toMatchObject({ code: 423, name: 'Locked', message: `Lock token ${held.token} is not the lease in force on this collection: it expired or was released` })
        const next = await locksClient(admin.client, collectionId).create({ holder: 'desk', ttlSeconds: 30 })
        expect(next.token).toBeGreaterThan(held.token)
        await locksClient(admin.client, collectionId).remove('desk')
      })

      it('bad input: userId without $break, a $break that is not a boolean, unknown query fields → 400 naming it', async () => {
        const locks = locksClient(owner.client, collectionId)
        expect(await failure(locks.remove('laptop', { query: { userId: writer.user.id } }))).toMatchObject({
          code: 400,
          message: '"query.userId" is only for breaking a lock ($break: true)'
        })
        expect(await failure(locks.remove('laptop', { query: { $break: 'yes' } as never }))).toMatchObject({ code: 400, message: '"query.$break" must be boolean' })
        expect(await failure(locks.remove('laptop', { query: { $force: true } as never }))).toMatchObject({ code: 400, message: '"query" has an unknown field "$force"' })
      })
    })
  }

  it('over plain REST: DELETE …/locks/:holder?$break=true', async () => {
    const owner = await user('rest')
    const writer = await user('rest')
    const collectionId = (await owner.client.service('collections').create({})).id
    await membersClient(owner.client, collectionId).create({ userId: writer.user.id, role: 'writer' })
    await locksClient(writer.client, collectionId).create({ holder: 'tablet' })
    const response = await fetch(`${server.url}/collections/${collectionId}/locks/tablet?$break=true`, { method: 'DELETE', headers: await jsonHeaders(owner) })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ collectionId, holder: 'tablet', released: true })
    const refused = await fetch(`${server.url}/collections/${collectionId}/locks/tablet?$break=true`, { method: 'DELETE', headers: await jsonHeaders(writer) })
    expect(refused.status).toBe(403)
  })
})
