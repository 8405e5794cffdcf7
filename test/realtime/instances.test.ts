import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { listen as listenOn } from '../../src/listen.js'
import { locksClient, membersClient, recordsClient, type ChangeEvent, type Collection, type LockEvent, type MemberEvent } from '../../src/client.js'
import { device, eventually, signedIn, type TestClient } from '../helpers/clients.js'
import { BUSES, describeBuses, type Tap } from '../helpers/buses.js'
import { startInstances, type Instances } from '../helpers/instances.js'

/** What a socket hears of the collections service. */
function listen(client: { client: TestClient['client'] }) {
  const heard = { changes: [] as ChangeEvent[], locks: [] as LockEvent[], members: [] as MemberEvent[], collections: [] as Array<[string, Collection]> }
  const service = client.client.service('collections') as unknown as { on(event: string, listener: (data: never) => void): void }
  service.on('change', (event: ChangeEvent) => heard.changes.push(event))
  service.on('lock', (event: LockEvent) => heard.locks.push(event))
  service.on('member', (event: MemberEvent) => heard.members.push(event))
  for (const name of ['created', 'patched', 'removed']) service.on(name, (collection: Collection) => heard.collections.push([name, collection]))
  return heard
}
type Heard = ReturnType<typeof listen>
const changeIds = (heard: Heard, collectionId: string) => heard.changes.filter((event) => event.collectionId === collectionId).map((event) => event.record.id)
const renamed = (heard: Heard, name: string) => heard.collections.some(([event, collection]) => event === 'patched' && collection.name === name)

describeBuses('realtime across three instances through feathers-sync', (backend, bus) => {
  let cluster: Instances
  const open: Array<{ close(): void }> = []
  let urls: string[]
  // Everything that crosses the bus, as the bus carries it.
  let tap: Tap
  let crossed: string[]

  beforeAll(async () => {
    cluster = await startInstances(backend, 3, {}, bus.url)
    urls = cluster.instances.map((instance) => instance.url)
    tap = await bus.tap(cluster.key)
    crossed = tap.heard
  })
  afterAll(async () => {
    for (const client of open) client.close()
    await tap?.close()
    await cluster?.close()
  })

  it('a change written through one instance reaches the allowed, subscribed sockets on every instance; a non-member never hears', async () => {
    const [a, b, c] = urls as [string, string, string]
    const owner = await signedIn(a, 'rest')
    const readers = await Promise.all([a, b, c].map((url) => signedIn(url, 'socketio')))
    const stranger = await signedIn(b, 'socketio')
    open.push(owner, ...readers, stranger)
    const { id: collectionId } = await owner.client.service('collections').create({})
    const members = membersClient(owner.client, collectionId)
    const heard = readers.map(listen)
    const heardByStranger = listen(stranger)
    for (const reader of readers) {
      await members.create({ userId: reader.user.id, role: 'reader' })
      await reader.client.service('subscriptions').create({ collectionId })
    }

    // The owner writes through each instance in turn.
    const writers = [owner.client, ...(await Promise.all([b, c].map((url) => device(url, 'rest', owner)))).map((connection) => connection.client)]
    const written = []
    for (const [index, writer] of writers.entries()) written.push(await recordsClient(writer, collectionId).create({ id: `via-${index}`, data: index }))
    // An idempotent retry through another instance answers again and is not heard again.
    // (Headers are not in the typed params: the REST client passes them on.)
    const keyed = { headers: { 'Idempotency-Key': `retry-${collectionId}` } } as never
    for (const writer of writers) await recordsClient(writer, collectionId).create({ id: 'retried', data: 3 }, keyed)
    await writers[2]!.service('collections').patch(collectionId, { name: 'Done' })

    for (const [index, one] of heard.entries()) {
      await eventually(() => renamed(one, 'Done'), `reader ${index} hearing the rename`)
      // socket.io and the bus keep each instance's order: the rename came last.
      expect(changeIds(one, collectionId)).toEqual(['via-0', 'via-1', 'via-2', 'retried'])
      expect(one.changes.map((event) => event.record.data)).toEqual([0, 1, 2, 3])
      // The record as its writer got it back, whichever instance it came through.
      for (const [position, record] of written.entries()) expect(one.changes[position]!.record).toEqual(record)
    }
    expect(heard[1]!.changes).toEqual(heard[0]!.changes)
    expect(heard[2]!.changes).toEqual(heard[0]!.changes)
    // Each heard every member event once, not once per instance.
    expect(heard[0]!.members.filter((event) => event.collectionId === collectionId).map((event) => event.type)).toEqual(['added', 'added', 'added'])
    // The stranger never hears the collection (its own collection, renamed last, is the barrier).
    const { id: own } = await stranger.client.service('collections').create({})
    await stranger.client.service('collections').patch(own, { name: 'Barrier' })
    await eventually(() => renamed(heardByStranger, 'Barrier'), 'the stranger hearing its own rename')
    expect(heardByStranger.changes).toEqual([])
    expect(heardByStranger.members).toEqual([])
    expect(heardByStranger.collections.map(([event, collection]) => [event, collection.id])).toEqual([['created', own], ['patched', own]])
  })

  it('a member removed through one instance stops hearing on every instance at once', async () => {
    const [a, b, c] = urls as [string, string, string]
    const owner = await signedIn(a, 'rest')
    const reader = await signedIn(b, 'socketio')
    const leaver = await signedIn(c, 'socketio')
    open.push(owner, reader, leaver)
    // The leaver is connected to every instance, subscribed on each.
    const leaverDevices = [leaver, ...(await Promise.all([a, b].map((url) => device(url, 'socketio', leaver))))]
    open.push(...leaverDevices.slice(1))
    const { id: collectionId } = await owner.client.service('collections').create({})
    const members = membersClient(owner.client, collectionId)
    await members.create({ userId: reader.user.id, role: 'reader' })
    await members.create({ userId: leaver.user.id, role: 'reader' })
    await reader.client.service('subscriptions').create({ collectionId })
    const heardByLeaver = leaverDevices.map(listen)
    for (const one of leaverDevices) await one.client.service('subscriptions').create({ collectionId })
    const heardByReader = listen(reader)

    const records = (url: string) => device(url, 'rest', owner).then((connection) => recordsClient(connection.client, collectionId))
    const [throughA, throughB, throughC] = await Promise.all([a, b, c].map(records))
    const ownerOnC = await device(c, 'rest', owner)
    await throughB!.create({ id: 'before', data: 1 })
    for (const [index, one] of heardByLeaver.entries()) await eventually(() => changeIds(one, collectionId).length === 1, `the leaver's device ${index} hearing the first change`)
    // Every instance has the members in its cache now (they were just read): the removal must drop them there.
    await members.remove(leaver.user.id)
    await throughA!.create({ id: 'after-a', data: 2 })
    await throughB!.create({ id: 'after-b', data: 3 })
    await throughC!.create({ id: 'after-c', data: 4 })
    // Lock events go to every member's sockets, subscribed or not, from the members each instance keeps: none to the leaver now.
    await locksClient(ownerOnC.client, collectionId).create({ holder: 'laptop', mode: 'exclusive' })
    await owner.client.service('collections').patch(collectionId, { name: 'Renamed' })
    await eventually(() => renamed(heardByReader, 'Renamed'), 'the reader hearing the rename')
    expect(changeIds(heardByReader, collectionId)).toEqual(['before', 'after-a', 'after-b', 'after-c'])
    expect(heardByReader.locks.map((event) => event.type)).toEqual(['acquired'])
    for (const [index, one] of heardByLeaver.entries()) {
      // They learn of their own removal on every device, and nothing after it.
      await eventually(() => one.members.some((event) => event.type === 'removed'), `the leaver's device ${index} hearing the removal`)
      expect(changeIds(one, collectionId), `device ${index}`).toEqual(['before'])
      expect(one.locks, `device ${index}`).toEqual([])
      expect(one.collections.filter(([, collection]) => collection.id === collectionId), `device ${index}`).toEqual([])
    }
    for (const one of leaverDevices) expect(await one.client.service('subscriptions').find()).toEqual([])
  })

  it('only published events cross the bus: no token, password, hash or connection', async () => {
    await eventually(() => crossed.length > 0, 'the events of the tests above on the bus')
    const messages = crossed.map((text) => JSON.parse(text) as { path: string; event: string; context?: Record<string, unknown> })
    expect(new Set(messages.map((message) => message.path))).toEqual(new Set(['collections']))
    for (const text of crossed) expect(text).not.toMatch(/accessToken|password|argon2|authorization|connection|headers/i)
    for (const message of messages) for (const name of Object.keys((message.context?.params ?? {}) as object)) expect(name).toBe('formerMembers')
  })

  it('a foreign message on the channel is ignored: the instances keep delivering', async () => {
    const [a, b] = urls as [string, string]
    const owner = await signedIn(a, 'rest')
    const listener = await device(b, 'socketio', owner)
    open.push(owner, listener)
    const heard = listen(listener)
    // Last in this suite: these would be in `crossed` above.
    await tap.publish('not json')
    await tap.publish(JSON.stringify({ event: 'created', path: 'users', data: {} }))
    await tap.publish(JSON.stringify({ event: 'change', path: 'collections' }))
    const { id } = await owner.client.service('collections').create({})
    await owner.client.service('collections').patch(id, { name: 'Still here' })
    await eventually(() => renamed(heard, 'Still here'), 'the rename heard through the bus after foreign messages')
  })
})

describe('realtime bus unreachable at start', () => {
  for (const bus of BUSES) {
    it(`setup fails naming the bus (${bus.name}, password hidden), and nothing is left running`, async () => {
      // A port nobody listens on: taken, then freed.
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as AddressInfo
          probe.close(() => resolve(port))
        })
      })
      const dataDir = mkdtempSync(join(tmpdir(), 'roost-sync-'))
      const url = bus.unreachable(port, 'secret')
      const app = createApp({ dataDir, logLevel: 'silent', sync: { url, key: 'unreachable' } })
      try {
        const named = url.replace('secret', '***').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
        await expect(listenOn(app, 0, '127.0.0.1')).rejects.toThrow(new RegExp(`^The realtime bus \\(sync\\.url, ${named}\\) is not reachable`))
      } finally {
        await app.get('syncBus')?.close()
        app.server?.close()
        await app.get('storage').close()
        rmSync(dataDir, { recursive: true, force: true })
      }
    })
  }
})
