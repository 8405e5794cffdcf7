import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectionBatchesClient, membersClient, type CollectionBatch } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * GET /collections/:collectionId/batches: the open batches with operations
 * staged on a collection, for the dashboard. Owners and admins see
 * everyone's, other members their own; committed, aborted and untouched
 * batches are not listed; the counts are of the whole batch.
 */
describeBackends('collection-batches', (backend) => {
  let server: TestServer
  const opened: TestClient[] = []

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
      let reader: TestClient
      let collectionId: string
      let otherId: string

      beforeAll(async () => {
        ;[owner, admin, writer, reader] = await Promise.all([0, 1, 2, 3].map(() => signedIn(server.url, transport)))
        opened.push(owner, admin, writer, reader)
        collectionId = (await owner.client.service('collections').create({})).id
        otherId = (await owner.client.service('collections').create({})).id
        for (const [member, role] of [[admin, 'admin'], [writer, 'writer'], [reader, 'reader']] as const) {
          await membersClient(owner.client, collectionId).create({ userId: member.user.id, role })
          await membersClient(owner.client, otherId).create({ userId: member.user.id, role })
        }
      })

      const stage = async (client: TestClient, operations: Array<{ collectionId: string; id: string }>) => {
        const batch = await client.client.service('batches').create({})
        const staged = await client.client.service('batches').append({
          id: batch.id,
          operations: operations.map((operation) => ({ op: 'put' as const, ...operation, data: { text: 'x'.repeat(10) }, ifNotExists: true }))
        })
        return staged
      }

      it('owners and admins see every open batch touching the collection, others only their own', async () => {
        const writers = await stage(writer, [
          { collectionId, id: 'w1' },
          { collectionId: otherId, id: 'w2' }
        ])
        const owners = await stage(owner, [{ collectionId, id: 'o1' }])
        // Not listed: staged elsewhere only, empty, committed, aborted.
        await stage(writer, [{ collectionId: otherId, id: 'elsewhere' }])
        await writer.client.service('batches').create({})
        const committed = await stage(owner, [{ collectionId, id: 'c1' }])
        await owner.client.service('batches').commit({ id: committed.id })
        const aborted = await stage(writer, [{ collectionId, id: 'a1' }])
        await writer.client.service('batches').remove(aborted.id)

        const expected = (batch: typeof writers, who: TestClient): CollectionBatch => ({
          id: batch.id,
          userId: who.user.id,
          email: who.email,
          operationCount: batch.operationCount,
          bytes: batch.bytes,
          createdAt: batch.createdAt,
          expiresAt: batch.expiresAt
        })
        expect(writers.operationCount).toBe(2)
        const all = [expected(writers, writer), expected(owners, owner)]
        expect(await collectionBatchesClient(owner.client, collectionId).find()).toEqual(all)
        expect(await collectionBatchesClient(admin.client, collectionId).find()).toEqual(all)
        expect(await collectionBatchesClient(writer.client, collectionId).find()).toEqual([expected(writers, writer)])
        expect(await collectionBatchesClient(reader.client, collectionId).find()).toEqual([])

        await writer.client.service('batches').remove(writers.id)
        await owner.client.service('batches').remove(owners.id)
        expect(await collectionBatchesClient(owner.client, collectionId).find()).toEqual([])
      })

      it('a stranger gets the collection’s 404; a query field → 400 naming it', async () => {
        const stranger = await signedIn(server.url, transport)
        opened.push(stranger)
        expect(await failure(collectionBatchesClient(stranger.client, collectionId).find())).toMatchObject({ code: 404, message: `Collection "${collectionId}" not found` })
        const service = collectionBatchesClient(owner.client, collectionId)
        const find = service.find.bind(service) as (params: unknown) => Promise<unknown>
        expect(await failure(find({ query: { userId: 'x' } }))).toMatchObject({
          code: 400,
          message: '"query" has an unknown field "userId"'
        })
      })
    })
  }
})
