import { afterAll, beforeAll, expect, it } from 'vitest'
import { membersClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * Managers racing through the API (issue 14, item 2), with real clients in
 * parallel: an admin demotes a writer while the owner makes the same writer
 * an owner. The admin's service checks the writer's role before calling
 * storage; if the promotion commits in between, only the check inside the
 * storage transaction stands between an admin and demoting an owner. Many
 * rounds, so both orders happen; the storage-level proof, one race at a
 * time, is test/storage/suite/races.ts.
 */

const ROUNDS = 20

describeBackends('members: an admin demoting a writer whom the owner is promoting', (backend) => {
  let server: TestServer
  let owner: TestClient
  let admin: TestClient
  let writer: TestClient

  beforeAll(async () => {
    server = await startServer(backend)
    // Owner and admin on different transports: two connections, two requests in flight at once.
    owner = await signedIn(server.url, 'rest')
    admin = await signedIn(server.url, 'socketio')
    writer = await signedIn(server.url, 'rest')
  })
  afterAll(async () => {
    for (const client of [owner, admin, writer]) client?.close()
    await server?.close()
  })

  it(`never ends with an owner demoted by an admin; every refusal is a 403, 404 or 409, never a 500 (${ROUNDS} rounds)`, async () => {
    const orders = { demotedFirst: 0, refused: 0 }
    for (let round = 0; round < ROUNDS; round++) {
      const { id: collectionId } = await owner.client.service('collections').create({ name: `race ${round}` })
      const byOwner = membersClient(owner.client, collectionId)
      await byOwner.create({ userId: admin.user.id, role: 'admin' })
      await byOwner.create({ userId: writer.user.id, role: 'writer' })

      const [promotion, demotion] = await Promise.allSettled([
        byOwner.patch(writer.user.id, { role: 'owner' }),
        membersClient(admin.client, collectionId).patch(writer.user.id, { role: 'reader' })
      ])

      // Whatever the order, the owner's promotion stands: promoted last, or the demotion refused.
      expect(promotion.status).toBe('fulfilled')
      expect(await byOwner.get(writer.user.id)).toMatchObject({ role: 'owner' })
      if (demotion.status === 'fulfilled') {
        orders.demotedFirst++
      } else {
        orders.refused++
        const error = demotion.reason as { code?: number; message?: string }
        expect([403, 404, 409], `refused with ${error.code}: ${error.message}`).toContain(error.code)
      }
    }
    expect(orders.demotedFirst + orders.refused).toBe(ROUNDS)
  })
})
