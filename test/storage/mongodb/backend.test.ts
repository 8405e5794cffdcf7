import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/storage/errors.js'
import { ENCRYPTION_INDEXES, INDEXES } from '../../../src/storage/mongodb/indexes.js'
import { MongoBackend } from '../../../src/storage/mongodb/mongo-backend.js'
import { COLLECTION_NAMES } from '../../../src/storage/mongodb/mongo-collections.js'
import type { StoredCollection, StoredRecord } from '../../../src/storage/types.js'
import { mongoServerProblem, startMongo } from '../../helpers/mongodb.js'

/**
 * The MongoDB mechanisms on a real server, below the rules: schema steps,
 * indexes, and transactions that take one collection at once. The behaviour
 * of Roost on MongoDB is the conformance suite's (test/helpers/backends.ts);
 * this file checks what only this backend has. Needs a server
 * (test/helpers/mongodb.ts); skipped with the reason printed otherwise.
 */

const problem = mongoServerProblem()
if (problem !== undefined) console.warn(`SKIPPED "MongoDB backend mechanisms": ${problem}.`)

describe.skipIf(problem !== undefined)('MongoDB backend mechanisms', () => {
  let server: { url: string; stop(): Promise<void> }
  let backend: MongoBackend

  beforeAll(async () => {
    server = await startMongo()
    backend = new MongoBackend(server.url)
    await backend.migrate()
  })
  afterAll(async () => {
    await backend?.close()
    await server?.stop()
  })

  const newCollection = (): StoredCollection => ({
    id: `c-${randomBytes(4).toString('hex')}`,
    name: null,
    ownerId: 'owner',
    epoch: randomBytes(6).toString('base64url'),
    seq: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z'
  })

  const record = (collectionId: string, id: string, seq: number): StoredRecord => ({
    collectionId,
    id,
    version: 1,
    data: { n: seq },
    deleted: false,
    updatedAt: '2026-01-01T00:00:01.000Z',
    updatedBy: null,
    seq
  })

  it('records schema steps 1 and 2 once and migrates again without change', async () => {
    await backend.migrate()
    const client = new MongoClient(server.url)
    try {
      const steps = await client.db().collection(COLLECTION_NAMES.schema).find().toArray()
      expect(steps.map((step) => step._id)).toEqual([1, 2])
      // Made by step 2 though it has no index of its own: transactions write to it.
      expect(await client.db().listCollections({ name: COLLECTION_NAMES.userKeys }).toArray()).toHaveLength(1)
    } finally {
      await client.close()
    }
  })

  it('has every index of the list, unique where the list says', async () => {
    const client = new MongoClient(server.url)
    try {
      for (const { collection, indexes } of [...INDEXES, ...ENCRYPTION_INDEXES]) {
        const onServer = await client.db().collection(COLLECTION_NAMES[collection]).indexes()
        for (const index of indexes) {
          const found = onServer.find((existing) => JSON.stringify(existing.key) === JSON.stringify(index.key))
          expect(found, `${collection} ${JSON.stringify(index.key)}`).toBeDefined()
          expect(found?.unique === true).toBe(index.unique === true)
        }
      }
    } finally {
      await client.close()
    }
  })

  it('serialises transactions that take one collection: 20 at once get positions 1 to 20, each record at its own', async () => {
    const collection = newCollection()
    await backend.transaction((tx) => tx.insertCollection(collection))
    const seqs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        backend.transaction(function* (tx) {
          const taken = yield* tx.takeCollection(collection.id, { positions: 1 })
          const seq = taken!.collection.seq
          yield* tx.insertRecords([record(collection.id, `r${i}`, seq)])
          return seq
        })
      )
    )
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const page = await backend.changesSince(collection.id, { since: 0, limit: 100 })
    expect(page.changes.map((change) => change.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(page.more).toBe(false)
  })

  it('hands out fencing tokens one by one to transactions taking the collection at once, reserving no position', async () => {
    const collection = newCollection()
    await backend.transaction((tx) => tx.insertCollection(collection))
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => backend.transaction((tx) => tx.takeCollection(collection.id, { lockToken: true })))
    )
    expect(tokens.map((taken) => taken!.lockSeq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
    expect((await backend.getCollection(collection.id))?.seq).toBe(0)
  })

  it('rolls back everything when a step throws, and passes the error out unchanged', async () => {
    const collection = newCollection()
    const thrown = new StorageError('conflict', 'no')
    await expect(
      backend.transaction(function* (tx) {
        yield* tx.insertCollection(collection)
        throw thrown
      })
    ).rejects.toBe(thrown)
    expect(await backend.getCollection(collection.id)).toBeUndefined()
  })

  it('reports a taken id as already-exists, and a missing collection as not taken', async () => {
    const collection = newCollection()
    await backend.transaction((tx) => tx.insertCollection(collection))
    await expect(backend.transaction((tx) => tx.insertCollection(collection))).rejects.toMatchObject({ kind: 'already-exists' })
    expect(await backend.transaction((tx) => tx.takeCollection('missing-collection'))).toBeUndefined()
  })

  it('inserts only the free ids with insertRecordsIfAbsent, and compare-and-sets with replaceRecord', async () => {
    const collection = newCollection()
    await backend.transaction((tx) => tx.insertCollection(collection))
    await backend.transaction((tx) => tx.insertRecords([record(collection.id, 'a', 1)]))
    const inserted = await backend.transaction((tx) => tx.insertRecordsIfAbsent([record(collection.id, 'a', 2), record(collection.id, 'b', 3)]))
    expect(inserted).toBe(1)
    const next = { ...record(collection.id, 'a', 4), version: 2 }
    expect(await backend.transaction((tx) => tx.replaceRecord(next, { version: 1, live: true }))).toBe(true)
    expect(await backend.transaction((tx) => tx.replaceRecord({ ...next, version: 3 }, { version: 1 }))).toBe(false)
    expect((await backend.getRecord(collection.id, 'a'))?.version).toBe(2)
  })

  it('returns each expired lease once, even to sweeps running at once', async () => {
    const collection = newCollection()
    await backend.transaction((tx) => tx.insertCollection(collection))
    await backend.transaction(function* (tx) {
      for (let i = 0; i < 10; i++) {
        yield* tx.insertLease({ collectionId: collection.id, userId: `u${i}`, holder: 'h', mode: 'shared', token: i + 1, acquiredAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:01:00.000Z' })
      }
    })
    const sweeps = await Promise.all([1, 2, 3].map(() => backend.expireLeases('2026-01-01T00:02:00.000Z')))
    const expired = sweeps.flat().map((lock) => lock.userId).sort()
    expect(expired).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`).sort())
  })
})
