import { afterAll, beforeAll, expect, it } from 'vitest'
import { membersClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { device, signedIn, type TestClient, type Transport } from '../helpers/clients.js'
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
  /** The owner and the admin on each transport: rounds alternate who goes by which, and who is sent first. */
  const devices: Record<'owner' | 'admin', Partial<Record<Transport, TestClient['client']>>> = { owner: {}, admin: {} }
  const opened: Array<{ close(): void }> = []

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
    admin = await signedIn(server.url, 'rest')
    writer = await signedIn(server.url, 'rest')
    opened.push(owner, admin, writer)
    for (const [name, account] of [['owner', owner], ['admin', admin]] as const) {
      devices[name].rest = account.client
      const socket = await device(server.url, 'socketio', account)
      opened.push(socket)
      devices[name].socketio = socket.client
    }
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  it(`never ends with an owner demoted by an admin; every refusal is a 403, 404 or 409, never a 500 (${ROUNDS} rounds)`, async () => {
    const orders = { demotedFirst: 0, refused: 0 }
    for (let round = 0; round < ROUNDS; round++) {
      const { id: collectionId } = await owner.client.service('collections').create({ name: `race ${round}` })
      const byOwner = membersClient(owner.client, collectionId)
      await byOwner.create({ userId: admin.user.id, role: 'admin' })
      await byOwner.create({ userId: writer.user.id, role: 'writer' })

      const [ownerBy, adminBy]: Transport[] = round % 4 < 2 ? ['rest', 'socketio'] : ['socketio', 'rest']
      const promote = () => membersClient(devices.owner[ownerBy]!, collectionId).patch(writer.user.id, { role: 'owner' })
      const demote = () => membersClient(devices.admin[adminBy]!, collectionId).patch(writer.user.id, { role: 'reader' })
      const [promotion, demotion] = round % 2 === 0 ? await Promise.allSettled([promote(), demote()]) : (await Promise.allSettled([demote(), promote()])).reverse()

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
}, { plainPath: true })
