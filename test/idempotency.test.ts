import { randomUUID } from 'node:crypto'
import type { Paginated } from '@feathersjs/feathers'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { changesClient, recordsClient, type Batch, type ChangeEvent, type ClientApplication, type Collection, type RecordItem } from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { storedBatchesBehindTheServer } from './helpers/behind-the-server.js'
import { eventually, failure, signedIn, TRANSPORTS, type TestClient, type Transport, jsonHeaders } from './helpers/clients.js'
import { startServer, TestClock, type TestServer } from './helpers/server.js'

/**
 * Idempotent retries, for every mutating call: a retry with the same key and
 * the same request gets the first answer and applies nothing again; the same
 * key with another request is refused (422); keys are per user and expire.
 * The key travels as the `Idempotency-Key` header over REST and as
 * `$idempotencyKey` in the query over socket.io.
 */

const TTL_SECONDS = 60

/** What the tests pass as a call's params (the typed clients leave some out). */
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

interface LooseCollections {
  find(params?: CallParams): Promise<Paginated<Collection>>
  get(id: string, params?: CallParams): Promise<Collection>
  create(data: unknown, params?: CallParams): Promise<Collection>
  patch(id: string, data: unknown, params?: CallParams): Promise<Collection>
  remove(id: string, params?: CallParams): Promise<Collection>
}

interface LooseBatches {
  get(id: string, params?: CallParams): Promise<Batch>
  create(data: unknown, params?: CallParams): Promise<Batch>
  append(data: unknown, params?: CallParams): Promise<Batch>
  commit(data: unknown, params?: CallParams): Promise<Batch>
  remove(id: string, params?: CallParams): Promise<Batch>
}

const recordsOf = (client: ClientApplication, collectionId: string) => recordsClient(client, collectionId) as unknown as LooseRecords
const collectionsOf = (client: ClientApplication) => client.service('collections') as unknown as LooseCollections
const batchesOf = (client: ClientApplication) => client.service('batches') as unknown as LooseBatches

const newKey = () => `key-${randomUUID()}`

/** The same params with the idempotency key where the transport carries it. */
function keyed(transport: Transport, key: string, params: CallParams = {}): CallParams {
  return transport === 'rest'
    ? { ...params, headers: { ...params.headers, 'Idempotency-Key': key } }
    : { ...params, query: { ...params.query, $idempotencyKey: key } }
}

/** The params with extra query fields (e.g. a base version) merged in. */
const withQuery = (params: CallParams, query: Record<string, unknown>): CallParams => ({ ...params, query: { ...params.query, ...query } })

/** A call with its key and its target, set up afresh for one user. */
interface Prepared {
  /** The keyed call: the same request every time it is made. */
  call(params: CallParams): Promise<unknown>
  /** Another request of the same method: refused when it reuses the key. */
  different(params: CallParams): Promise<unknown>
  /** Everything either request could change. */
  state(): Promise<unknown>
  /**
   * Runs between the first call and its retry, so that applying the retry
   * again would show: it would fail (404) or change the state back.
   */
  afterFirst?(): Promise<void>
}

interface MutationCase {
  name: string
  /** Whether the call is announced to sockets (record change events, collection events). */
  announced: boolean
  prepare(as: TestClient): Promise<Prepared>
}

// Also on the plain path ("[sqlite, no shortcuts]"…): these are the calls the storage speed-ups serve.
describeBackends('idempotent retries', (backend) => {
  let server: TestServer
  const clock = new TestClock()

  beforeAll(async () => {
    server = await startServer(
      backend,
      { idempotency: { ttlSeconds: TTL_SECONDS }, batches: { retentionSeconds: 0, maxOpenPerUser: 1000 } },
      { clock: clock.now }
    )
  })
  afterAll(async () => {
    await server.close()
  })

  /** The user's batches as stored (batches cannot be listed through the API). */
  const storedBatches = (userId: string) => storedBatchesBehindTheServer(server, userId)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      let other: TestClient
      /** A socket of the owner's, subscribed to every collection the owner's cases use. */
      let listener: TestClient
      let barrierCollection: string
      const heard: Array<{ event: string; collectionId: string; recordId?: string }> = []
      const plain: CallParams = {}
      const key = (k: string, params: CallParams = {}) => keyed(transport, k, params)

      beforeAll(async () => {
        owner = await signedIn(server.url, transport)
        other = await signedIn(server.url, transport)
        listener = await signedIn(server.url, 'socketio')
        await listener.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
        const service = listener.client.service('collections') as unknown as { on(event: string, listener: (data: never) => void): void }
        service.on('change', (event: ChangeEvent) => heard.push({ event: 'change', collectionId: event.collectionId, recordId: event.record.id }))
        for (const name of ['created', 'patched', 'removed']) {
          service.on(name, (collection: Collection) => heard.push({ event: name, collectionId: collection.id }))
        }
        barrierCollection = await newCollection(owner)
      })
      afterAll(() => {
        for (const client of [owner, other, listener]) client.close()
      })

      /** A fresh collection of `as`; the listener subscribes to the owner's. */
      async function newCollection(as: TestClient, name: string | null = null): Promise<string> {
        const { id } = await collectionsOf(as.client).create({ name })
        if (as === owner) await listener.client.service('subscriptions').create({ collectionId: id })
        return id
      }

      /**
       * Once this returns, the listener has heard everything announced
       * before: socket.io delivers in order, and the barrier's own event
       * comes last.
       */
      async function barrier(): Promise<void> {
        const recordId = randomUUID()
        await recordsOf(owner.client, barrierCollection).create({ id: recordId, data: 'barrier' })
        await eventually(() => heard.some((event) => event.recordId === recordId), 'the barrier event')
      }
      /** What the listener heard since the test began, barrier events aside. */
      const events = () => heard.filter((event) => event.collectionId !== barrierCollection)

      beforeEach(async () => {
        await barrier()
        heard.length = 0
      })

      /** Everything about a collection's records: live ones, tombstones, the feed and its cursor. */
      async function recordState(as: TestClient, collectionId: string) {
        const records = recordsOf(as.client, collectionId)
        const feed = await changesClient(as.client, collectionId).find({ query: { limit: 1000 } })
        return {
          live: (await records.find({ query: { $limit: 1000, $sort: { id: 1 } } })).data,
          tombstones: (await records.find({ query: { $limit: 1000, $sort: { id: 1 }, deleted: true } })).data,
          feed: feed.changes,
          feedCursor: feed.cursor,
          cursor: (await collectionsOf(as.client).get(collectionId)).cursor
        }
      }

      /** The user's collections, except the barrier's (whose cursor moves all the time). */
      const collectionState = async (as: TestClient) =>
        (await collectionsOf(as.client).find({ query: { $limit: 1000 } })).data.filter((collection) => collection.id !== barrierCollection)

      /** Stages a put into a fresh collection of `as`, in a new (unkeyed) batch. */
      async function stagedBatch(as: TestClient, collectionId: string, recordId: string, open: Record<string, unknown> = {}) {
        const batch = await batchesOf(as.client).create(open)
        await batchesOf(as.client).append({ id: batch.id, operations: [{ op: 'put', collectionId, id: recordId, data: { staged: recordId }, ifNotExists: true }] })
        return batch.id
      }

      /** Sweeps as if the sweeper's interval had come. */
      const sweep = () => server.app.get('sweeper').run()

      const CASES: MutationCase[] = [
        {
          name: 'records create (one)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            // No client id: applying it again would create a second record.
            return {
              call: (params) => records.create({ data: { n: 1 } }, params),
              different: (params) => records.create({ data: { n: 2 } }, params),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records create (several)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            return {
              call: (params) => records.create([{ data: 'a' }, { data: 'b' }], params),
              different: (params) => records.create([{ data: 'a' }], params),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records update',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            await records.create({ id: 'r', data: { n: 1 } })
            // Applying it again would be a 409: the record is at version 2 by then.
            return {
              call: (params) => records.update('r', { data: { n: 2 }, version: 1 }, params),
              different: (params) => records.update('r', { data: { n: 3 }, version: 1 }, params),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records patch (one)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            await records.create({ id: 'r', data: { n: 1 } })
            return {
              call: (params) => records.patch('r', { data: { m: 2 }, version: 1 }, params),
              different: (params) => records.patch('r', { data: { m: 3 }, version: 1 }, params),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records patch (several)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            await records.create([{ id: 'r', data: { n: 1 } }, { id: 's', data: { n: 1 } }])
            return {
              call: (params) =>
                records.patch(null, [{ id: 'r', data: { m: 2 }, version: 1 }, { id: 's', data: { m: 2 }, version: 1 }], params),
              different: (params) => records.patch(null, [{ id: 'r', data: { m: 3 }, version: 1 }], params),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records remove (one)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            await records.create([{ id: 'r', data: 1 }, { id: 's', data: 1 }])
            return {
              call: (params) => records.remove('r', withQuery(params, { version: 1 })),
              // Another record: it would be deleted if the key were not refused.
              different: (params) => records.remove('s', withQuery(params, { version: 1 })),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'records remove (several)',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const records = recordsOf(as.client, collectionId)
            await records.create([{ id: 'r', data: 1 }, { id: 's', data: 1 }, { id: 't', data: 1 }])
            return {
              call: (params) => records.remove(null, withQuery(params, { versions: { r: 1, s: 1 } })),
              different: (params) => records.remove(null, withQuery(params, { versions: { t: 1 } })),
              state: () => recordState(as, collectionId)
            }
          }
        },
        {
          name: 'collections create',
          announced: true,
          async prepare(as) {
            const collections = collectionsOf(as.client)
            // No client id: applying it again would create a second collection.
            return {
              call: (params) => collections.create({ name: 'made once' }, params),
              different: (params) => collections.create({ name: 'made otherwise' }, params),
              state: () => collectionState(as)
            }
          }
        },
        {
          name: 'collections patch',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as, 'before')
            const collections = collectionsOf(as.client)
            // Applying it again would move updatedAt: the clock moves before the retry.
            return {
              call: (params) => collections.patch(collectionId, { name: 'after' }, params),
              different: (params) => collections.patch(collectionId, { name: 'otherwise' }, params),
              state: () => collectionState(as)
            }
          }
        },
        {
          name: 'collections remove',
          announced: true,
          async prepare(as) {
            const first = await newCollection(as)
            const second = await newCollection(as)
            const collections = collectionsOf(as.client)
            // Applying it again would be a 404.
            return {
              call: (params) => collections.remove(first, params),
              different: (params) => collections.remove(second, params),
              state: () => collectionState(as)
            }
          }
        },
        {
          name: 'batches create',
          announced: false,
          async prepare(as) {
            const batches = batchesOf(as.client)
            // No client id: applying it again would open a second batch.
            return {
              call: (params) => batches.create({ ttl: 600 }, params),
              different: (params) => batches.create({ ttl: 700 }, params),
              state: () => storedBatches(as.user.id)
            }
          }
        },
        {
          name: 'batches append',
          announced: false,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const batches = batchesOf(as.client)
            const { id } = await batches.create({})
            const append = (value: string) => (params: CallParams) =>
              batches.append({ id, operations: [{ op: 'put', collectionId, id: 'r', data: { value }, ifNotExists: true }] }, params)
            return {
              call: append('a'),
              different: append('ccc'),
              state: async () => ({ batch: await batches.get(id), stored: await storedBatches(as.user.id) }),
              // Re-staged by another append: applying the retry again would put 'a' back (and change the batch's bytes).
              afterFirst: async () => {
                await append('bbbbbb')(plain)
              }
            }
          }
        },
        {
          name: 'batches commit',
          announced: true,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const batches = batchesOf(as.client)
            const first = await stagedBatch(as, collectionId, 'r1', { ttl: 1 })
            const second = await stagedBatch(as, collectionId, 'r2')
            return {
              call: (params) => batches.commit({ id: first }, params),
              // Another batch: it would be committed if the key were not refused.
              different: (params) => batches.commit({ id: second }, params),
              state: async () => ({ records: await recordState(as, collectionId), stored: await storedBatches(as.user.id) }),
              // The committed batch is swept away once past its time-to-live: committing it again would be a 404.
              afterFirst: async () => {
                clock.advance(2)
                await sweep()
              }
            }
          }
        },
        {
          name: 'batches remove',
          announced: false,
          async prepare(as) {
            const collectionId = await newCollection(as)
            const batches = batchesOf(as.client)
            const first = await stagedBatch(as, collectionId, 'r1', { ttl: 1 })
            const second = await stagedBatch(as, collectionId, 'r2')
            return {
              call: (params) => batches.remove(first, params),
              different: (params) => batches.remove(second, params),
              state: () => storedBatches(as.user.id),
              // The aborted batch is swept away: aborting it again would be a 404.
              afterFirst: async () => {
                clock.advance(2)
                await sweep()
              }
            }
          }
        }
      ]

      for (const mutation of CASES) {
        describe(mutation.name, () => {
          it('a retry with the same key gets the identical answer and applies nothing again', async () => {
            const prepared = await mutation.prepare(owner)
            await barrier()
            const before = events().length
            const k = newKey()

            const first = await prepared.call(key(k))
            await prepared.afterFirst?.()
            await barrier()
            const announced = events().length
            expect(announced > before).toBe(mutation.announced)
            const state = await prepared.state()

            // Anything stamped with the time would differ if it were applied again.
            clock.advance(1)
            const retried = await prepared.call(key(k))
            expect(retried).toEqual(first)
            expect(await prepared.state()).toEqual(state)
            // A replay is not announced again.
            await barrier()
            expect(events().length).toBe(announced)
            // Nor a second retry.
            expect(await prepared.call(key(k))).toEqual(first)
          })

          it('the same key with a different request is refused with 422, and nothing changes', async () => {
            const prepared = await mutation.prepare(owner)
            const k = newKey()
            const first = await prepared.call(key(k))
            const state = await prepared.state()

            const refused = await failure(prepared.different(key(k)))
            expect(refused.code).toBe(422)
            expect(refused.message).toMatch(/idempotency key was used for a different request/)
            expect(await prepared.state()).toEqual(state)
            // The key still stands for its first request.
            expect(await prepared.call(key(k))).toEqual(first)
          })

          it("another user's same key is their own: their call is applied, not replayed or refused", async () => {
            const mine = await mutation.prepare(owner)
            const theirs = await mutation.prepare(other)
            const k = newKey()
            const first = await mine.call(key(k))

            const before = await theirs.state()
            const their = await theirs.call(key(k))
            expect(their).not.toEqual(first)
            expect(await theirs.state()).not.toEqual(before)
            // Each user's key replays their own answer.
            expect(await theirs.call(key(k))).toEqual(their)
            expect(await mine.call(key(k))).toEqual(first)
          })
        })
      }

      it('headline: a versioned update whose answer was lost gets 200 with the same record on retry, not 409', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        await records.create({ id: 'doc', data: { title: 'draft' } })
        const k = newKey()

        // The answer is "lost": the client never sees it, and retries.
        void (await records.update('doc', { data: { title: 'final' }, version: 1 }, key(k)))
        const retried = await records.update('doc', { data: { title: 'final' }, version: 1 }, key(k))
        expect(retried).toMatchObject({ id: 'doc', version: 2, data: { title: 'final' } })
        expect(retried).toEqual(await records.get('doc'))

        // Without the key the same retry would have been a conflict.
        const unkeyed = await failure(records.update('doc', { data: { title: 'final' }, version: 1 }, plain))
        expect(unkeyed.code).toBe(409)
        expect(unkeyed.data).toEqual({ reason: 'version-mismatch', current: retried })
      })

      it('a key expires after idempotency.ttlSeconds: the same request then runs again and conflicts like any retry', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        await records.create({ id: 'doc', data: { n: 1 } })
        const k = newKey()
        const first = await records.update('doc', { data: { n: 2 }, version: 1 }, key(k))

        clock.advance(TTL_SECONDS - 1)
        expect(await records.update('doc', { data: { n: 2 }, version: 1 }, key(k))).toEqual(first)

        clock.advance(2)
        const expired = await failure(records.update('doc', { data: { n: 2 }, version: 1 }, key(k)))
        expect(expired.code).toBe(409)
        expect(expired.data).toEqual({ reason: 'version-mismatch', current: first })
        // An expired key may also be used for another request.
        const reused = await records.update('doc', { data: { n: 3 }, version: 2 }, key(k))
        expect(reused).toMatchObject({ version: 3, data: { n: 3 } })
      })

      it('the sweeper deletes expired keys: a keyed collection create then creates again', async () => {
        const collections = collectionsOf(owner.client)
        const k = newKey()
        const first = await collections.create({ name: 'swept' }, key(k))
        expect(await collections.create({ name: 'swept' }, key(k))).toEqual(first)

        clock.advance(TTL_SECONDS + 1)
        const swept = await server.app.get('sweeper').run()
        expect(swept.deletedKeys).toBeGreaterThanOrEqual(1)

        const second = await collections.create({ name: 'swept' }, key(k))
        expect(second.id).not.toBe(first.id)
        expect((await collectionState(owner)).filter((collection) => collection.name === 'swept').map((collection) => collection.id).sort()).toEqual(
          [first.id, second.id].sort()
        )
      })

      it('the same keyed create sent 8 times at once is applied once, and all 8 get its answer', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        await barrier()
        heard.length = 0
        const k = newKey()

        const answers = await Promise.all(Array.from({ length: 8 }, () => records.create({ data: 'once' }, key(k))))
        for (const answer of answers) expect(answer).toEqual(answers[0])
        const state = await recordState(owner, collectionId)
        expect(state.live).toEqual([answers[0]])
        expect(state.feed).toEqual([answers[0]])
        await barrier()
        expect(events()).toEqual([{ event: 'change', collectionId, recordId: answers[0].id }])
      })

      it('the same keyed versioned update sent 8 times at once: all 8 get 200 with the one new version', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        await records.create({ id: 'doc', data: { n: 1 } })
        const k = newKey()

        const answers = await Promise.all(Array.from({ length: 8 }, () => records.update('doc', { data: { n: 2 }, version: 1 }, key(k))))
        for (const answer of answers) expect(answer).toEqual(answers[0])
        expect(answers[0]).toMatchObject({ version: 2, data: { n: 2 } })
        expect(await records.get('doc')).toEqual(answers[0])
        expect((await recordState(owner, collectionId)).feed).toEqual([answers[0]])
      })

      it('the same keyed call of another service sent 8 times at once is applied once, and all 8 get its answer', async () => {
        const collections = collectionsOf(owner.client)
        const before = await collectionState(owner)
        const generated = newKey()
        const created = await Promise.all(Array.from({ length: 8 }, () => collections.create({ name: 'at once' }, key(generated))))
        for (const answer of created) expect(answer).toEqual(created[0])
        expect((await collectionState(owner)).length).toBe(before.length + 1)

        // With a client id, the duplicates must not fail as "already exists" either.
        const chosen = `c-${randomUUID()}`
        const withId = newKey()
        const answers = await Promise.all(Array.from({ length: 8 }, () => collections.create({ id: chosen }, key(withId))))
        for (const answer of answers) expect(answer).toEqual(answers[0])

        const batches = await storedBatches(owner.user.id)
        const opened = await Promise.all(Array.from({ length: 8 }, () => batchesOf(owner.client).create({}, key(generated + '-batch'))))
        for (const answer of opened) expect(answer).toEqual(opened[0])
        expect((await storedBatches(owner.user.id)).length).toBe(batches.length + 1)
      })

      it('two different requests with one key at once: one is applied, the other is refused with 422', async () => {
        const first = await newCollection(owner)
        const second = await newCollection(owner)
        const k = newKey()
        const outcomes = await Promise.allSettled([
          recordsOf(owner.client, first).create({ data: 'one' }, key(k)),
          recordsOf(owner.client, second).create({ data: 'two' }, key(k))
        ])
        const applied = outcomes.filter((outcome) => outcome.status === 'fulfilled')
        const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as { code: number }] : []))
        expect(applied).toHaveLength(1)
        expect(refused.map((error) => error.code)).toEqual([422])
        const totals = await Promise.all([first, second].map(async (id) => (await recordsOf(owner.client, id).find({ query: { $limit: 0 } })).total))
        expect(totals.sort()).toEqual([0, 1])
      })

      it('a key used on one service is refused on another (422)', async () => {
        const collectionId = await newCollection(owner)
        const k = newKey()
        await recordsOf(owner.client, collectionId).create({ data: 1 }, key(k))
        expect((await failure(collectionsOf(owner.client).create({}, key(k)))).code).toBe(422)
        const k2 = newKey()
        await collectionsOf(owner.client).create({}, key(k2))
        expect((await failure(recordsOf(owner.client, collectionId).create({ data: 1 }, key(k2)))).code).toBe(422)
        expect((await recordsOf(owner.client, collectionId).find({ query: { $limit: 0 } })).total).toBe(1)
      })

      it('a failed record write is not stored: its retry fails the same way, and the key stays free', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        const taken = await records.create({ id: 'taken', data: 1 })
        const k = newKey()

        for (let attempt = 0; attempt < 2; attempt++) {
          const refused = await failure(records.create({ id: 'taken', data: 2 }, key(k)))
          expect(refused.code).toBe(409)
          expect(refused.data).toEqual({ reason: 'exists', current: taken })
        }
        const stale = newKey()
        await records.update('taken', { data: 3, version: 1 }, plain)
        for (let attempt = 0; attempt < 2; attempt++) {
          expect((await failure(records.update('taken', { data: 4, version: 1 }, key(stale)))).code).toBe(409)
        }
        // Had the failure been stored, this would be a 422 (another request with the key).
        const created = await records.create({ id: 'free', data: 5 }, key(k))
        expect(created).toMatchObject({ id: 'free', version: 1 })
        expect(await records.update('taken', { data: 4, version: 2 }, key(stale))).toMatchObject({ version: 3, data: 4 })
      })

      it('a failed call of another service is not stored either', async () => {
        const collections = collectionsOf(owner.client)
        const existing = await newCollection(owner)
        const k = newKey()
        for (let attempt = 0; attempt < 2; attempt++) {
          expect((await failure(collections.create({ id: existing }, key(k)))).code).toBe(409)
        }
        const fresh = `c-${randomUUID()}`
        expect(await collections.create({ id: fresh }, key(k))).toMatchObject({ id: fresh })

        const missing = newKey()
        expect((await failure(batchesOf(owner.client).commit({ id: 'no-such-batch' }, key(missing)))).code).toBe(404)
        const batch = await batchesOf(owner.client).create({ id: `b-${randomUUID()}` }, plain)
        expect(await batchesOf(owner.client).commit({ id: batch.id }, key(missing))).toMatchObject({ id: batch.id, status: 'committed' })
      })

      it('refuses invalid keys with 400 before doing anything', async () => {
        const collectionId = await newCollection(owner)
        const records = recordsOf(owner.client, collectionId)
        for (const bad of ['k'.repeat(256), 'clé', '', 'has space']) {
          const refused = await failure(records.create({ data: 1 }, key(bad)))
          expect(refused.code, JSON.stringify(bad)).toBe(400)
          expect(refused.message).toMatch(/idempotency key/i)
          expect((await failure(collectionsOf(owner.client).create({ name: 'never' }, key(bad)))).code).toBe(400)
        }
        expect((await records.find({ query: { $limit: 0 } })).total).toBe(0)
        expect((await collectionState(owner)).some((collection) => collection.name === 'never')).toBe(false)
        // 255 printable ASCII characters are fine.
        const longest = '~'.repeat(254) + '!'
        const created = await records.create({ data: 1 }, key(longest))
        expect(await records.create({ data: 1 }, key(longest))).toEqual(created)
      })

      it('a key is the user’s, not the connection’s: a retry over the other transport is replayed', async () => {
        const collectionId = await newCollection(owner)
        const k = newKey()
        const first = await recordsOf(owner.client, collectionId).create({ data: 'anywhere' }, key(k))
        const otherTransport: Transport = transport === 'rest' ? 'socketio' : 'rest'
        const elsewhere = await signedIn(server.url, otherTransport)
        try {
          await elsewhere.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
          expect(await recordsOf(elsewhere.client, collectionId).create({ data: 'anywhere' }, keyed(otherTransport, k))).toEqual(first)
          expect((await recordsOf(owner.client, collectionId).find({ query: { $limit: 0 } })).total).toBe(1)
        } finally {
          elsewhere.close()
        }
      })
    })
  }

  describe('over REST only: replays are marked', () => {
    let owner: TestClient
    let headers: Record<string, string>

    beforeAll(async () => {
      owner = await signedIn(server.url, 'rest')
      headers = await jsonHeaders(owner)
    })
    afterAll(() => owner.close())

    const send = (path: string, method: string, key: string, body?: unknown, extra: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { ...headers, ...extra, 'idempotency-key': key },
        body: body === undefined ? undefined : JSON.stringify(body)
      })

    it('a replayed record write answers with Idempotent-Replayed: true and the same status and body', async () => {
      const { id: collectionId } = await collectionsOf(owner.client).create({})
      const k = newKey()
      const first = await send(`/collections/${collectionId}/records`, 'POST', k, { data: { a: 1 } })
      expect(first.status).toBe(201)
      expect(first.headers.get('idempotent-replayed')).toBeNull()
      const body = await first.json()

      const replay = await send(`/collections/${collectionId}/records`, 'POST', k, { data: { a: 1 } })
      expect(replay.status).toBe(201)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(replay.headers.get('etag')).toBe('"1"')
      expect(await replay.json()).toEqual(body)

      const refused = await send(`/collections/${collectionId}/records`, 'POST', k, { data: { a: 2 } })
      expect(refused.status).toBe(422)
      expect(refused.headers.get('idempotent-replayed')).toBeNull()
    })

    it('replayed multi-record patches and removes are marked too; a failed call never is', async () => {
      const { id: collectionId } = await collectionsOf(owner.client).create({})
      await recordsOf(owner.client, collectionId).create([{ id: 'a', data: {} }, { id: 'b', data: {} }])
      const k = newKey()
      const patch = [{ id: 'a', data: { x: 1 }, version: 1 }, { id: 'b', data: { x: 1 }, version: 1 }]
      const first = await send(`/collections/${collectionId}/records`, 'PATCH', k, patch)
      expect(first.status).toBe(200)
      const replay = await send(`/collections/${collectionId}/records`, 'PATCH', k, patch)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(await replay.json()).toEqual(await first.json())

      const removal = newKey()
      const removed = await send(`/collections/${collectionId}/records?versions[a]=2&versions[b]=2`, 'DELETE', removal)
      expect(removed.status).toBe(200)
      const again = await send(`/collections/${collectionId}/records?versions[a]=2&versions[b]=2`, 'DELETE', removal)
      expect(again.status).toBe(200)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(await again.json()).toEqual(await removed.json())

      const conflict = newKey()
      for (let attempt = 0; attempt < 2; attempt++) {
        const failed = await send(`/collections/${collectionId}/records/a`, 'PUT', conflict, { data: 1, version: 1 })
        expect(failed.status).toBe(409)
        expect(failed.headers.get('idempotent-replayed')).toBeNull()
      }
    })

    it('calls of other services are marked too (collections, batch commit)', async () => {
      const k = newKey()
      const first = await send('/collections', 'POST', k, { name: 'marked' })
      expect(first.status).toBe(201)
      expect(first.headers.get('idempotent-replayed')).toBeNull()
      const replay = await send('/collections', 'POST', k, { name: 'marked' })
      expect(replay.status).toBe(201)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      const collection = (await first.json()) as Collection
      expect(await replay.json()).toEqual(collection)

      const batch = await batchesOf(owner.client).create({})
      await batchesOf(owner.client).append({
        id: batch.id,
        operations: [{ op: 'put', collectionId: collection.id, id: 'r', data: 1, ifNotExists: true }]
      })
      const commitKey = newKey()
      const committed = await send('/batches', 'POST', commitKey, { id: batch.id }, { 'x-service-method': 'commit' })
      expect(committed.status).toBe(200)
      expect(committed.headers.get('idempotent-replayed')).toBeNull()
      const recommitted = await send('/batches', 'POST', commitKey, { id: batch.id }, { 'x-service-method': 'commit' })
      expect(recommitted.status).toBe(200)
      expect(recommitted.headers.get('idempotent-replayed')).toBe('true')
      expect(await recommitted.json()).toEqual(await committed.json())
    })

    it('a key in the header wins over one in the query string', async () => {
      const { id: collectionId } = await collectionsOf(owner.client).create({})
      const k = newKey()
      const first = await (await send(`/collections/${collectionId}/records?$idempotencyKey=${newKey()}`, 'POST', k, { data: 1 })).json()
      const replay = await send(`/collections/${collectionId}/records?$idempotencyKey=${newKey()}`, 'POST', k, { data: 1 })
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(await replay.json()).toEqual(first)
    })
  })
}, { plainPath: true })
