import { randomUUID } from 'node:crypto'
import type { Paginated } from '@feathersjs/feathers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, membersClient, recordsClient, type ChangeEvent, type ClientApplication, type RecordItem } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { eventually, failure, signedIn, TRANSPORTS, type TestClient, type Transport } from '../helpers/clients.js'
import { startServer, TestClock, type TestServer } from '../helpers/server.js'

/**
 * Every record version carries the idempotency key of the call that wrote it
 * (`idempotencyKey`, absent when the call had none), wherever a record is
 * shown: so a client whose answer was lost for longer than the server keeps
 * keys can still recognise its retry's 409 as its own write, applied.
 */

const TTL_SECONDS = 60

interface CallParams {
  query?: Record<string, unknown>
  headers?: Record<string, string>
}

interface LooseRecords {
  find(params?: CallParams): Promise<Paginated<RecordItem>>
  get(id: string, params?: CallParams): Promise<RecordItem>
  create(data: unknown, params?: CallParams): Promise<RecordItem & RecordItem[]>
  update(id: string, data: unknown, params?: CallParams): Promise<RecordItem>
  patch(id: string | null, data: unknown, params?: CallParams): Promise<RecordItem & RecordItem[]>
  remove(id: string | null, params?: CallParams): Promise<RecordItem & RecordItem[]>
}

interface LooseBatches {
  create(data: unknown, params?: CallParams): Promise<{ id: string }>
  append(data: unknown, params?: CallParams): Promise<unknown>
  commit(data: unknown, params?: CallParams): Promise<{ status: string }>
}

const recordsOf = (client: ClientApplication, collectionId: string) => recordsClient(client, collectionId) as unknown as LooseRecords
const batchesOf = (client: ClientApplication) => client.service('batches') as unknown as LooseBatches
const newKey = () => `key-${randomUUID()}`

/** The params with the idempotency key where the transport carries it (REST: header; socket.io: query). */
function keyed(transport: Transport, key: string, params: CallParams = {}): CallParams {
  return transport === 'rest'
    ? { ...params, headers: { ...params.headers, 'Idempotency-Key': key } }
    : { ...params, query: { ...params.query, $idempotencyKey: key } }
}

// Also on the plain path ("[sqlite, no shortcuts]"…): these are the calls the storage speed-ups serve.
describeBackends('records: the idempotency key of each version', (backend) => {
  let server: TestServer
  const clock = new TestClock()

  beforeAll(async () => {
    server = await startServer(backend, { idempotency: { ttlSeconds: TTL_SECONDS } }, { clock: clock.now })
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      /** A socket of the owner's other device, subscribed to every collection of the tests. */
      let listener: TestClient
      const heard: ChangeEvent[] = []
      const key = (k: string, params: CallParams = {}) => keyed(transport, k, params)

      beforeAll(async () => {
        owner = await signedIn(server.url, transport)
        listener = await signedIn(server.url, 'socketio')
        await listener.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
        const collections = listener.client.service('collections') as unknown as { on(event: string, listener: (data: ChangeEvent) => void): void }
        collections.on('change', (event) => heard.push(event))
      })
      afterAll(() => {
        owner?.close()
        listener?.close()
      })

      async function newCollection(): Promise<{ id: string; records: LooseRecords }> {
        const { id } = await owner.client.service('collections').create({ name: null })
        await listener.client.service('subscriptions').create({ collectionId: id })
        return { id, records: recordsOf(owner.client, id) }
      }

      /** The collection's feed from the start. */
      const feed = async (collectionId: string): Promise<RecordItem[]> => (await changesClient(owner.client, collectionId).find({ query: { limit: 1000 } })).changes
      /** The change event of this version, once heard. */
      async function eventOf(record: RecordItem): Promise<ChangeEvent> {
        const match = () => heard.find((event) => event.collectionId === record.collectionId && event.record.id === record.id && event.seq === record.seq)
        await eventually(() => match() !== undefined, `the change event of ${record.id} v${record.version}`)
        return match()!
      }

      it('single writes carry their key in the answer, in reads, in the feed and in change events; tombstones too', async () => {
        const { id: collectionId, records } = await newCollection()
        const [k1, k2, k3, k4] = [newKey(), newKey(), newKey(), newKey()]
        const created = await records.create({ id: 'r', data: { n: 1 } }, key(k1))
        expect(created).toMatchObject({ version: 1, idempotencyKey: k1 })
        expect(await records.get('r')).toEqual(created)
        expect((await records.find()).data).toEqual([created])
        expect((await eventOf(created)).record).toEqual(created)

        const updated = await records.update('r', { data: { n: 2 }, version: 1 }, key(k2))
        expect(updated).toMatchObject({ version: 2, idempotencyKey: k2 })
        const patched = await records.patch('r', { data: { m: 3 }, version: 2 }, key(k3))
        expect(patched).toMatchObject({ version: 3, data: { n: 2, m: 3 }, idempotencyKey: k3 })
        expect(await records.get('r')).toEqual(patched)
        expect((await eventOf(patched)).record).toEqual(patched)

        const tombstone = await records.remove('r', key(k4, { query: { version: 3 } }))
        expect(tombstone).toMatchObject({ version: 4, deleted: true, data: null, idempotencyKey: k4 })
        expect(await feed(collectionId)).toEqual([tombstone])
        expect((await records.find({ query: { deleted: true } })).data).toEqual([tombstone])
        expect((await eventOf(tombstone)).record).toEqual(tombstone)
      })

      it('a write without a key has no field, and clears the key of the version before', async () => {
        const { id: collectionId, records } = await newCollection()
        const plain = await records.create({ id: 'r', data: { n: 1 } })
        expect(plain).not.toHaveProperty('idempotencyKey')
        // Each keyless write comes right after a keyed one, whose key it must not keep.
        for (const write of [
          (version: number) => records.update('r', { data: { n: 3 }, version }),
          (version: number) => records.patch('r', { data: { x: 1 }, version }),
          (version: number) => records.remove('r', { query: { version } })
        ]) {
          const keyedVersion = await records.patch('r', { data: {}, version: (await records.get('r')).version }, key(newKey()))
          expect(keyedVersion.idempotencyKey).toBeDefined()
          const version = await write(keyedVersion.version)
          expect(version).not.toHaveProperty('idempotencyKey')
          expect((await eventOf(version)).record).not.toHaveProperty('idempotencyKey')
        }
        const [tombstone] = await feed(collectionId)
        expect(tombstone).toMatchObject({ deleted: true })
        expect(tombstone).not.toHaveProperty('idempotencyKey')
      })

      it('multi-record calls give every record the call’s key', async () => {
        const { id: collectionId, records } = await newCollection()
        const [kCreate, kPatch, kRemove] = [newKey(), newKey(), newKey()]
        const created = await records.create([{ id: 'a', data: {} }, { id: 'b', data: {} }], key(kCreate))
        expect(created.map((record) => record.idempotencyKey)).toEqual([kCreate, kCreate])
        const patched = await records.patch(
          null,
          [
            { id: 'a', data: { p: 1 }, version: 1 },
            { id: 'b', data: { p: 2 }, version: 1 }
          ],
          key(kPatch)
        )
        expect(patched.map((record) => record.idempotencyKey)).toEqual([kPatch, kPatch])
        expect((await records.find()).data).toEqual(patched)
        const removed = await records.remove(null, key(kRemove, { query: { versions: { a: 2, b: 2 } } }))
        expect(removed.map((record) => record.idempotencyKey)).toEqual([kRemove, kRemove])
        expect(await feed(collectionId)).toEqual(removed)
        for (const record of removed) expect((await eventOf(record)).record).toEqual(record)
      })

      it('a batch commit gives every record it writes the commit call’s key, or none', async () => {
        const { id: collectionId, records } = await newCollection()
        await records.create({ id: 'old', data: 0 }, key(newKey()))
        const batches = batchesOf(owner.client)
        const commitGroup = async (operations: unknown[], params: CallParams) => {
          const { id } = await batches.create({ ttl: 600 }, key(newKey()))
          await batches.append({ id, operations }, key(newKey()))
          expect(await batches.commit({ id }, params)).toMatchObject({ status: 'committed' })
        }

        const kCommit = newKey()
        await commitGroup(
          [
            { op: 'put', collectionId, id: 'new', data: 1, ifNotExists: true },
            { op: 'put', collectionId, id: 'old', data: 1, version: 1 }
          ],
          key(kCommit)
        )
        const afterKeyed = await feed(collectionId)
        expect(afterKeyed.map((record) => [record.id, record.idempotencyKey])).toEqual([
          ['new', kCommit],
          ['old', kCommit]
        ])
        for (const record of afterKeyed) expect((await eventOf(record)).record).toEqual(record)

        await commitGroup(
          [
            { op: 'put', collectionId, id: 'new', data: 2, version: 1 },
            { op: 'delete', collectionId, id: 'old', version: 2 }
          ],
          {}
        )
        for (const record of await feed(collectionId)) expect(record).not.toHaveProperty('idempotencyKey')
      })

      it('a 409 shows the current version’s key; other members see it too', async () => {
        const { id: collectionId, records } = await newCollection()
        const k = newKey()
        await records.create({ id: 'r', data: 0 })
        const current = await records.update('r', { data: 1, version: 1 }, key(k))
        const stale = await failure(records.patch('r', { data: { x: 1 }, version: 1 }))
        expect(stale.code).toBe(409)
        expect(stale.data).toEqual({ reason: 'version-mismatch', current })
        expect(stale.data.current.idempotencyKey).toBe(k)

        const reader = await signedIn(server.url, transport)
        try {
          await membersClient(owner.client, collectionId).create({ userId: reader.user.id, role: 'reader' })
          expect(await recordsOf(reader.client, collectionId).get('r')).toEqual(current)
        } finally {
          reader.close()
        }
      })

      describe('a retry after the server forgot its key', () => {
        it('a create: 409 whose current carries the retry’s key, so it was applied; another key tells somebody else’s write', async () => {
          const { records } = await newCollection()
          const k = newKey()
          const request = { id: 'note', data: { text: 'hello' } }
          const first = await records.create(request, key(k)) // its answer is "lost"
          clock.advance(TTL_SECONDS + 1)
          const retry = await failure(records.create(request, key(k)))
          expect(retry.code).toBe(409)
          expect(retry.data).toEqual({ reason: 'exists', current: first })
          expect(retry.data.current.idempotencyKey).toBe(k)

          // A different attempt at the same id is told apart: not its key.
          const other = newKey()
          const theirs = await failure(records.create(request, key(other)))
          expect(theirs.code).toBe(409)
          expect(theirs.data.current.idempotencyKey).not.toBe(other)
        })

        it('an update, patch and remove: the same', async () => {
          const { records } = await newCollection()
          await records.create({ id: 'r', data: { n: 0 } })
          const attempts: Array<[string, (k: string) => Promise<RecordItem>]> = [
            ['update', (k) => records.update('r', { data: { n: 1 }, version: 1 }, key(k))],
            ['patch', (k) => records.patch('r', { data: { m: 1 }, version: 2 }, key(k))],
            ['remove', (k) => records.remove('r', key(k, { query: { version: 3 } }))]
          ]
          for (const [name, attempt] of attempts) {
            const k = newKey()
            const first = await attempt(k)
            clock.advance(TTL_SECONDS + 1)
            const retry = await failure(attempt(k))
            expect([name, retry.code]).toEqual([name, 409])
            expect(retry.data.current).toEqual(first)
            expect(retry.data.current.idempotencyKey).toBe(k)
          }
        })

        it('until somebody writes the record again: then the key is theirs (or none)', async () => {
          const { records } = await newCollection()
          const k = newKey()
          await records.create({ id: 'r', data: 1 }, key(k))
          await records.update('r', { data: 2, version: 1 }) // someone else's write, after ours
          clock.advance(TTL_SECONDS + 1)
          const retry = await failure(records.create({ id: 'r', data: 1 }, key(k)))
          expect(retry.code).toBe(409)
          expect(retry.data.current).toMatchObject({ version: 2 })
          expect(retry.data.current).not.toHaveProperty('idempotencyKey')
        })
      })
    })
  }
}, { plainPath: true })
