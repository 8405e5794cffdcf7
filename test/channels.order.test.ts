import { afterAll, beforeAll, expect, it } from 'vitest'
import { membersClient, type ChangeEvent } from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { device, eventually, signedIn, TRANSPORTS, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/**
 * PROTOCOL.md (Batches, Commit): the change events of one commit reach a
 * socket "the whole group at once, in staging order" — across collections too.
 *
 * What makes it fail: publishing each event as soon as its own audience is
 * known. A membership change of the first collection right before the
 * commit makes its members be read again, while the second collection's are
 * still known: the second collection's events then overtook the first's in
 * every round (seen before realtime/publish-order.ts).
 */

const ROUNDS = 12
const COLLECTIONS = 3
const RECORDS_PER_COLLECTION = 3

describeBackends('channels: events of one commit in staging order', (backend) => {
  let server: TestServer
  let owner: TestClient
  let other: TestClient
  let listener: { client: TestClient['client']; close(): void }

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
    other = await signedIn(server.url, 'rest')
    listener = await device(server.url, 'socketio', owner)
  })
  afterAll(async () => {
    listener.close()
    owner.close()
    other.close()
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    it(`a commit over ${transport} to ${COLLECTIONS} collections, right after a membership change of the first: events in staging order, ${ROUNDS} times`, async () => {
      const socket = transport === 'socketio' ? await device(server.url, 'socketio', owner) : undefined
      try {
        await commitInRounds(socket?.client ?? owner.client, transport)
      } finally {
        socket?.close()
      }
    }, 30_000)
  }

  async function commitInRounds(committer: TestClient['client'], transport: string) {
    const collectionIds: string[] = []
    for (let c = 0; c < COLLECTIONS; c++) {
      const { id } = await owner.client.service('collections').create({ name: `order-${c}` })
      collectionIds.push(id)
      await listener.client.service('subscriptions').create({ collectionId: id })
    }
    const members = membersClient(owner.client, collectionIds[0])
    await members.create({ userId: other.user.id, role: 'reader' })

    const heard: ChangeEvent[] = []
    const service = listener.client.service('collections') as unknown as { on(event: string, listener: (event: ChangeEvent) => void): void }
    service.on('change', (event) => heard.push(event))

    const disordered: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // Staged round-robin across the collections, so any overtaking shows.
      const operations = Array.from({ length: COLLECTIONS * RECORDS_PER_COLLECTION }, (_, n) => ({
        op: 'put' as const,
        collectionId: collectionIds[n % COLLECTIONS],
        id: `${transport}-${round}-${n}`,
        data: { round, n },
        ifNotExists: true as const
      }))
      const batchId = `order-${transport}-${round}`
      await committer.service('batches').create({ id: batchId })
      await committer.service('batches').append({ id: batchId, operations })
      // The first collection's members change: its next events re-read them.
      await members.patch(other.user.id, { role: round % 2 === 0 ? 'writer' : 'reader' })
      const before = heard.length
      await committer.service('batches').commit({ id: batchId })
      await eventually(() => heard.length === before + operations.length, `the ${operations.length} events of round ${round}`)
      const received = heard.slice(before).map((event) => `${event.collectionId}/${event.record.id}`)
      const staged = operations.map((operation) => `${operation.collectionId}/${operation.id}`)
      if (received.join() !== staged.join()) disordered.push(`round ${round}: ${received.join(' ')}`)
    }
    expect(disordered).toEqual([])
  }
})
