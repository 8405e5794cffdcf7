import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, recordsClient, type RecordItem } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { connect, failure, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'
import type { ClientApplication } from '../../src/client.js'

/** Pulls until `more` is false, feeding every change to `apply`; returns the new cursor. */
async function pullAll(client: ClientApplication, collectionId: string, since: string | undefined, limit: number, apply: (change: RecordItem) => void) {
  let cursor = since
  for (;;) {
    const page = await changesClient(client, collectionId).find({ query: { ...(cursor ? { since: cursor } : {}), limit } })
    page.changes.forEach(apply)
    cursor = page.cursor
    if (!page.more) return cursor
  }
}

describeBackends('changes: the feed', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      beforeAll(async () => {
        owner = await signedIn(server.url, transport)
      })
      afterAll(() => owner.close())

      it('returns records and tombstones in change order, each once in its latest state, page by page', async () => {
        const { id } = await owner.client.service('collections').create({})
        const records = recordsClient(owner.client, id)
        const feed = changesClient(owner.client, id)

        const empty = await feed.find()
        expect(empty).toEqual({ changes: [], cursor: expect.any(String), more: false })

        await records.create(['a', 'b', 'c', 'd'].map((key) => ({ id: key, data: { key } })))
        await records.patch('a', { data: { touched: true }, version: 1 }) // a moves to the end
        await records.remove('b', { query: { version: 1 } }) // b becomes a tombstone at the end

        const first = await feed.find({ query: { limit: 2 } })
        expect(first.changes.map((change) => change.id)).toEqual(['c', 'd'])
        expect(first.more).toBe(true)
        const second = await feed.find({ query: { since: first.cursor, limit: 2 } })
        expect(second.changes.map((change) => [change.id, change.version, change.deleted])).toEqual([
          ['a', 2, false],
          ['b', 2, true]
        ])
        expect(second.more).toBe(false)
        expect(second.changes[0].data).toEqual({ key: 'a', touched: true })
        expect(second.changes[1].data).toBeNull()

        // Nothing new: the same cursor comes back and no change is repeated.
        const third = await feed.find({ query: { since: second.cursor } })
        expect(third).toEqual({ changes: [], cursor: second.cursor, more: false })

        // A later change gets a position after the cursor.
        await records.update('c', { data: 'later', version: 1 })
        const fourth = await feed.find({ query: { since: second.cursor } })
        expect(fourth.changes.map((change) => change.id)).toEqual(['c'])
        expect(fourth.changes[0].seq).toBeGreaterThan(second.changes[1].seq)
      })

      it('the collection carries its latest cursor', async () => {
        const { id } = await owner.client.service('collections').create({})
        await recordsClient(owner.client, id).create({ data: 1 })
        const collection = await owner.client.service('collections').get(id)
        const page = await changesClient(owner.client, id).find({ query: { since: collection.cursor } })
        expect(page.changes).toEqual([])
      })

      it('rejects a cursor that is not one, or belongs to another collection', async () => {
        const { id: one } = await owner.client.service('collections').create({})
        const { id: other } = await owner.client.service('collections').create({})
        expect((await failure(changesClient(owner.client, one).find({ query: { since: 'garbage' } }))).code).toBe(400)
        const otherCursor = (await changesClient(owner.client, other).find()).cursor
        expect((await failure(changesClient(owner.client, one).find({ query: { since: otherCursor } }))).code).toBe(410)
      })
    })
  }

  it('no skipped change: 8 writers × 200 writes while 4 pullers pull; every replica equals the server', async () => {
    const WRITERS = 8
    const WRITES = 200
    const PULLERS = 4
    const owner = await signedIn(server.url, 'rest')
    const { id: collectionId } = await owner.client.service('collections').create({ id: `race-${backend.name}` })
    const login = async (transport: 'rest' | 'socketio') => {
      const connection = connect(server.url, transport)
      await connection.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
      return connection
    }
    const writers = await Promise.all(Array.from({ length: WRITERS }, (_, i) => login(i % 2 ? 'socketio' : 'rest')))
    const pullers = await Promise.all(Array.from({ length: PULLERS }, (_, i) => login(i % 2 ? 'rest' : 'socketio')))

    // Writers: creates, patches, deletes and re-creates over their own ids and
    // a shared set, so that writes race on the same records too.
    const write = async (client: ClientApplication, writer: number) => {
      const records = recordsClient(client, collectionId)
      const known = new Map<string, RecordItem>()
      const ids = [...Array.from({ length: 15 }, (_, k) => `w${writer}-${k}`), ...Array.from({ length: 10 }, (_, k) => `shared-${k}`)]
      for (let i = 0; i < WRITES; i++) {
        const id = ids[(i * 7 + writer * 3) % ids.length]
        const current = known.get(id)
        try {
          let result: RecordItem
          if (current === undefined) result = await records.create({ id, data: { writer, i } })
          else if (current.deleted) result = await records.create({ id, data: { writer, i, again: true }, version: current.version })
          else if (i % 5 === 0) result = await records.remove(id, { query: { version: current.version } })
          else result = await records.patch(id, { data: { [`w${writer}`]: i }, version: current.version })
          known.set(id, result)
        } catch (error) {
          const { code, data } = error as { code: number; data?: { current?: RecordItem } }
          if (code !== 409 || !data?.current) throw error
          known.set(id, data.current) // lost a race: learn the current state and go on
        }
      }
    }

    let writing = true
    const pull = async (client: ClientApplication, index: number) => {
      const replica = new Map<string, RecordItem>()
      let cursor: string | undefined
      let lastSeq = 0
      const apply = (change: RecordItem) => {
        // Positions only ever grow along one puller's stream.
        expect(change.seq).toBeGreaterThan(lastSeq)
        lastSeq = change.seq
        replica.set(change.id, change)
      }
      // Small, different page sizes so page boundaries fall between racing commits.
      const limit = 3 + index * 4
      while (writing) cursor = await pullAll(client, collectionId, cursor, limit, apply)
      cursor = await pullAll(client, collectionId, cursor, limit, apply)
      return replica
    }

    const pulling = pullers.map((puller, index) => pull(puller.client, index))
    await Promise.all(writers.map((writer, index) => write(writer.client, index)))
    writing = false
    const replicas = await Promise.all(pulling)

    // The server's truth: every record and tombstone, straight from a fresh full pull.
    const truth = new Map<string, RecordItem>()
    await pullAll(owner.client, collectionId, undefined, 1000, (change) => truth.set(change.id, change))
    const live = await recordsClient(owner.client, collectionId).find({ query: { $limit: 1000 } })
    const dead = await recordsClient(owner.client, collectionId).find({ query: { $limit: 1000, deleted: true } })
    expect(truth.size).toBe(live.total + dead.total)
    for (const record of [...live.data, ...dead.data]) expect(truth.get(record.id)).toEqual(record)

    const sorted = (map: Map<string, RecordItem>) => [...map.values()].sort((a, b) => a.id.localeCompare(b.id))
    for (const replica of replicas) expect(sorted(replica)).toEqual(sorted(truth))
    expect(dead.total).toBeGreaterThan(0)

    for (const connection of [...writers, ...pullers]) connection.close()
    owner.close()
  })
}, { plainPath: true })
