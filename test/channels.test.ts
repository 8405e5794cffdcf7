import { afterAll, beforeAll, expect, it } from 'vitest'
import { recordsClient, type ChangeEvent, type Collection } from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { eventually, failure, signedIn, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/** Collects the `collections change` events a client hears. */
function listen(client: TestClient) {
  const changes: ChangeEvent[] = []
  const collections: Array<[string, Collection]> = []
  const service = client.client.service('collections') as unknown as {
    on(event: string, listener: (data: never) => void): void
  }
  service.on('change', (event: ChangeEvent) => changes.push(event))
  for (const name of ['created', 'patched', 'removed']) {
    service.on(name, (collection: Collection) => collections.push([name, collection]))
  }
  return { changes, collections }
}

describeBackends('channels: realtime events', (backend) => {
  let server: TestServer
  let owner: TestClient // writes over REST
  let subscribed: TestClient // owner's socket, subscribed
  let unsubscribed: TestClient // owner's other socket, not subscribed
  let stranger: TestClient // another user's socket

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
    subscribed = await signedIn(server.url, 'socketio')
    await subscribed.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
    unsubscribed = await signedIn(server.url, 'socketio')
    await unsubscribed.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
    stranger = await signedIn(server.url, 'socketio')
  })
  afterAll(async () => {
    for (const client of [owner, subscribed, unsubscribed, stranger]) client.close()
    await server.close()
  })

  it('delivers every committed change to subscribed sockets of users who may read, and to nobody else', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    // The stranger has a collection of its own, used as a barrier: socket.io
    // delivers in order, so once the stranger hears its own event it would
    // already have heard anything of the owner's.
    const { id: strangerCollection } = await stranger.client.service('collections').create({})

    const heard = listen(subscribed)
    const heardByUnsubscribed = listen(unsubscribed)
    const heardByStranger = listen(stranger)

    const subscription = await subscribed.client.service('subscriptions').create({ collectionId })
    expect(subscription).toEqual({ collectionId, cursor: expect.any(String) })
    expect(await subscribed.client.service('subscriptions').find()).toEqual([collectionId])

    // A stranger cannot subscribe to someone else's collection, nor learn that it exists.
    const refused = await failure(stranger.client.service('subscriptions').create({ collectionId }))
    expect(refused.code).toBe(404)
    await stranger.client.service('subscriptions').create({ collectionId: strangerCollection })

    const records = recordsClient(owner.client, collectionId)
    const created = await records.create({ id: 'r1', data: { a: 1 } })
    const patched = await records.patch('r1', { data: { b: 2 }, version: 1 })
    const tombstone = await records.remove('r1', { query: { version: 2 } })

    await eventually(() => heard.changes.length === 3, 'three change events')
    expect(heard.changes.map((event) => event.record)).toEqual([created, patched, tombstone])
    for (const event of heard.changes) {
      expect(event.collectionId).toBe(collectionId)
      expect(event.seq).toBe(event.record.seq)
      expect(typeof event.cursor).toBe('string')
    }
    // Positions are consecutive, so a client can tell it missed nothing.
    expect(heard.changes.map((event) => event.seq)).toEqual([created.seq, created.seq + 1, created.seq + 2])

    // The event's cursor is a position in the feed: pulling from the one
    // before the tombstone returns exactly the tombstone.
    const page = await (await import('../src/client.js')).changesClient(owner.client, collectionId).find({
      query: { since: heard.changes[1].cursor }
    })
    expect(page.changes).toEqual([tombstone])

    await recordsClient(stranger.client, strangerCollection).create({ data: 'barrier' })
    await eventually(() => heardByStranger.changes.length === 1, "the stranger's own event")
    expect(heardByStranger.changes[0].collectionId).toBe(strangerCollection)
    expect(heardByUnsubscribed.changes).toEqual([])
  })

  it('publishes only after commit: a change event names a state the feed already has', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    await subscribed.client.service('subscriptions').create({ collectionId })
    const reads: Array<Promise<unknown>> = []
    const service = subscribed.client.service('collections') as unknown as {
      on(event: string, listener: (event: ChangeEvent) => void): void
      off(event: string, listener: (event: ChangeEvent) => void): void
    }
    const onChange = (event: ChangeEvent) => {
      if (event.collectionId !== collectionId) return
      reads.push(recordsClient(owner.client, collectionId).get(event.record.id).then((record) => expect(record.version).toBeGreaterThanOrEqual(event.record.version)))
    }
    service.on('change', onChange)
    await Promise.all(Array.from({ length: 20 }, (_, i) => recordsClient(owner.client, collectionId).create({ id: `c${i}`, data: i })))
    await eventually(() => reads.length === 20, 'twenty change events')
    await Promise.all(reads)
    service.off('change', onChange)
  })

  it('stops delivering after unsubscribing', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const { id: barrier } = await owner.client.service('collections').create({})
    await subscribed.client.service('subscriptions').create({ collectionId })
    await subscribed.client.service('subscriptions').create({ collectionId: barrier })
    await subscribed.client.service('subscriptions').remove(collectionId)
    expect(await subscribed.client.service('subscriptions').find()).not.toContain(collectionId)

    const heard = listen(subscribed)
    await recordsClient(owner.client, collectionId).create({ data: 'unheard' })
    await recordsClient(owner.client, barrier).create({ data: 'heard' })
    await eventually(() => heard.changes.length >= 1, 'the barrier event')
    expect(heard.changes.map((event) => event.collectionId)).toEqual([barrier])
  })

  it("sends collection created/patched/removed to the owner's sockets only", async () => {
    const heard = listen(subscribed)
    const heardByStranger = listen(stranger)
    const collection = await owner.client.service('collections').create({ name: 'first' })
    await owner.client.service('collections').patch(collection.id, { name: 'second' })
    await owner.client.service('collections').remove(collection.id)
    await eventually(() => heard.collections.length === 3, 'three collection events')
    expect(heard.collections.map(([event, item]) => [event, item.id, item.name])).toEqual([
      ['created', collection.id, 'first'],
      ['patched', collection.id, 'second'],
      ['removed', collection.id, 'second']
    ])
    const { id: barrier } = await stranger.client.service('collections').create({})
    await eventually(() => heardByStranger.collections.length === 1, "the stranger's own event")
    expect(heardByStranger.collections.map(([, item]) => item.id)).toEqual([barrier])
  })

  it('deleting a collection ends its subscriptions', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    await subscribed.client.service('subscriptions').create({ collectionId })
    expect(await subscribed.client.service('subscriptions').find()).toContain(collectionId)
    await owner.client.service('collections').remove(collectionId)
    expect(await subscribed.client.service('subscriptions').find()).not.toContain(collectionId)
  })

  it('subscriptions need a realtime connection', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const error = await failure(owner.client.service('subscriptions').create({ collectionId }))
    expect(error.code).toBe(400)
    expect(error.message).toMatch(/realtime/)
  })
})
