import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Backend } from '../../src/storage/backend.js'
import { StorageError } from '../../src/storage/errors.js'
import { createBackend } from '../../src/storage/index.js'
import { SyncStorage } from '../../src/storage/sync-storage.js'
import type { CommitOutcome, RecordWrite, StoredUser, WriteContext } from '../../src/storage/types.js'
import { describeBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * Group commit (src/storage/group-commit.ts, src/storage/rules/commit-group.ts):
 * calls writing one collection that arrive while a write to it is in flight
 * are committed together in one transaction, each with the outcome it would
 * have had alone. The storage is the real one on a real database; the only
 * addition is a count of the transactions the backend ran, so each test
 * knows the writes really were combined (calls made in one tick all queue
 * behind the first). Each test fails if grouping is switched off (the count)
 * or if a member's outcome differs from what it would be alone.
 */
describeBackends('group commit', (backend) => {
  let database: TestDatabase
  let storage: SyncStorage
  let owner: StoredUser
  let reader: StoredUser
  let stranger: StoredUser
  let transactions = 0
  let tick = 0
  const at = (): string => new Date(Date.UTC(2026, 0, 1) + ++tick * 1000).toISOString()
  const context = (extra: Partial<WriteContext> = {}): WriteContext => ({ actor: owner.id, at: at(), requireRole: 'writer', ...extra })

  beforeAll(async () => {
    database = await backend.create()
    const real = createBackend(database.databaseUrl, database.dataDir, { shortcuts: true })
    // The real backend, counting its transactions.
    const counted: Backend = Object.assign(Object.create(real) as Backend, {
      transaction: (work: Parameters<Backend['transaction']>[0]) => {
        transactions++
        return real.transaction(work)
      }
    })
    storage = new SyncStorage(counted, { shortcuts: true })
    await storage.migrate()
    owner = await storage.createUser({ email: 'owner@example.com', password: 'x' }, at())
    reader = await storage.createUser({ email: 'reader@example.com', password: 'x' }, at())
    stranger = await storage.createUser({ email: 'stranger@example.com', password: 'x' }, at())
  })
  afterAll(async () => {
    await storage?.close()
    await database?.cleanup()
  })

  const newCollection = async (id: string, records: number) => {
    await storage.createCollection({ id, name: null, ownerId: owner.id }, at())
    const writes: RecordWrite[] = Array.from({ length: records }, (_, i) => ({ op: 'create', collectionId: id, id: `r${i}`, data: { n: 0 } }))
    if (records > 0) await storage.commitWrites(writes, context())
    transactions = 0
  }
  const update = (collectionId: string, id: string, baseVersion: number, data: Record<string, number> = { n: 1 }): RecordWrite => ({
    op: 'update',
    collectionId,
    id,
    data,
    baseVersion
  })
  /** The calls, all made in one tick: the first goes alone, the others queue behind it and go together. */
  const together = (calls: Array<() => Promise<CommitOutcome>>) => Promise.allSettled(calls.map((call) => call()))
  const refusal = (result: PromiseSettledResult<CommitOutcome>): StorageError => {
    expect(result.status).toBe('rejected')
    const error = (result as PromiseRejectedResult).reason as StorageError
    expect(error).toBeInstanceOf(StorageError)
    return error
  }
  const value = (result: PromiseSettledResult<CommitOutcome>): CommitOutcome => {
    expect(result.status).toBe('fulfilled')
    return (result as PromiseFulfilledResult<CommitOutcome>).value
  }
  const feed = async (collectionId: string, since: number) =>
    (await storage.changesSince(collectionId, { since, limit: 1000 })).changes.map((change) => [change.id, change.seq, change.version])

  it('combines concurrent writes to one collection; one that conflicts fails alone, the others apply at dense positions', async () => {
    await newCollection('shared', 20)
    const results = await together(
      Array.from({ length: 20 }, (_, i) => () => storage.commitWrites([update('shared', `r${i}`, i === 7 ? 5 : 1, { n: i })], context()))
    )

    // The first went alone, the 19 others in one transaction.
    expect(transactions).toBeLessThanOrEqual(2)
    for (const [i, result] of results.entries()) {
      if (i === 7) {
        const error = refusal(result)
        expect(error.kind).toBe('conflict')
        expect(error.conflicts[0]).toMatchObject({ id: 'r7', reason: 'version-mismatch', current: { version: 1 } })
      } else {
        expect(value(result).records[0]).toMatchObject({ id: `r${i}`, version: 2, data: { n: i } })
      }
    }
    // Positions 21…39: dense, one per applied write in call order, none left by the conflict.
    const changes = await feed('shared', 20)
    expect(changes.map(([, seq]) => seq)).toEqual(Array.from({ length: 19 }, (_, i) => 21 + i))
    expect(changes.map(([id]) => id)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`).filter((id) => id !== 'r7'))
    expect((await storage.getCollection('shared'))!.seq).toBe(39)
    // Each answer names its own position.
    expect(results.filter((result) => result.status === 'fulfilled').map((result) => value(result).positions.shared.seq)).toEqual(
      Array.from({ length: 19 }, (_, i) => 21 + i)
    )
  })

  it('a call that waited alone behind another goes as it would alone: its own transaction, its own outcome', async () => {
    await newCollection('pair', 2)
    const [first, second] = await together([
      () => storage.commitWrites([update('pair', 'r0', 1)], context()),
      () => storage.commitWrites([update('pair', 'r1', 1), update('pair', 'r0', 1)], context())
    ])
    expect(value(first).positions.pair.seq).toBe(3)
    expect(refusal(second).conflicts.map((conflict) => conflict.id)).toEqual(['r0'])
    const [third, fourth] = await together([
      () => storage.commitWrites([update('pair', 'r1', 1)], context()),
      () => storage.commitWrites([update('pair', 'r1', 2, { n: 2 })], context())
    ])
    expect(value(third).records[0]).toMatchObject({ version: 2, seq: 4 })
    expect(value(fourth).records[0]).toMatchObject({ version: 3, seq: 5, data: { n: 2 } })
    expect(await feed('pair', 2)).toEqual([
      ['r0', 3, 2],
      ['r1', 5, 3]
    ])
  })

  it('a call of several writes with one conflict fails whole, changing nothing; the calls around it apply', async () => {
    await newCollection('multi', 6)
    const results = await together([
      () => storage.commitWrites([update('multi', 'r0', 1)], context()),
      () => storage.commitWrites([update('multi', 'r1', 1), update('multi', 'r2', 9)], context()),
      () => storage.commitWrites([update('multi', 'r3', 1), { op: 'create', collectionId: 'multi', id: 'new', data: { n: 1 } }], context()),
      () => storage.commitWrites([{ op: 'delete', collectionId: 'multi', id: 'r4', baseVersion: 1 }], context())
    ])
    expect(transactions).toBeLessThanOrEqual(2)
    const error = refusal(results[1])
    expect(error.kind).toBe('conflict')
    expect(error.conflicts.map((conflict) => conflict.id)).toEqual(['r2'])
    expect(value(results[2]).outcomes).toEqual(['updated', 'created'])
    expect(value(results[3]).outcomes).toEqual(['deleted'])
    expect((await storage.getRecord('multi', 'r1'))!.version).toBe(1)
    expect(await feed('multi', 6)).toEqual([
      ['r0', 7, 2],
      ['r3', 8, 2],
      ['new', 9, 1],
      ['r4', 10, 2]
    ])
  })

  it('a record written by two calls of one group: the second sees the first, a third on the old version conflicts', async () => {
    await newCollection('chain', 2)
    const results = await together([
      () => storage.commitWrites([update('chain', 'r1', 1, { step: 0 })], context()),
      () => storage.commitWrites([update('chain', 'r0', 1, { step: 1 })], context()),
      () => storage.commitWrites([update('chain', 'r0', 2, { step: 2 })], context()),
      () => storage.commitWrites([update('chain', 'r0', 1, { step: 3 })], context()),
      () => storage.commitWrites([{ op: 'create', collectionId: 'chain', id: 'fresh', data: { step: 4 } }], context()),
      () => storage.commitWrites([{ op: 'create', collectionId: 'chain', id: 'fresh', data: { step: 5 } }], context()),
      () => storage.commitWrites([{ op: 'delete', collectionId: 'chain', id: 'fresh', baseVersion: 1 }], context())
    ])
    expect(transactions).toBeLessThanOrEqual(2)
    expect(value(results[1]).records[0]).toMatchObject({ id: 'r0', version: 2, seq: 4 })
    expect(value(results[2]).records[0]).toMatchObject({ id: 'r0', version: 3, seq: 5, data: { step: 2 } })
    expect(refusal(results[3]).conflicts[0]).toMatchObject({ id: 'r0', reason: 'version-mismatch', current: { version: 3 } })
    expect(value(results[4]).records[0]).toMatchObject({ id: 'fresh', version: 1, seq: 6 })
    expect(refusal(results[5]).conflicts[0]).toMatchObject({ id: 'fresh', reason: 'exists' })
    expect(value(results[6]).records[0]).toMatchObject({ id: 'fresh', version: 2, deleted: true, seq: 7 })
    // Each record is in the feed once, at its last position; positions 3…7 were all handed out.
    expect(await feed('chain', 2)).toEqual([
      ['r1', 3, 2],
      ['r0', 5, 3],
      ['fresh', 7, 2]
    ])
    expect(await storage.getRecord('chain', 'r0')).toMatchObject({ version: 3, data: { step: 2 } })
    expect((await storage.getCollection('chain'))!.seq).toBe(7)
  })

  it('roles are checked per author inside the group: a reader and a stranger are refused alone', async () => {
    await newCollection('roles', 3)
    await storage.putMember({ collectionId: 'roles', userId: reader.id, role: 'reader', at: at(), actorId: owner.id })
    transactions = 0
    const results = await together([
      () => storage.commitWrites([update('roles', 'r0', 1)], context()),
      () => storage.commitWrites([update('roles', 'r1', 1)], context({ actor: reader.id })),
      () => storage.commitWrites([update('roles', 'r1', 1)], context({ actor: stranger.id })),
      () => storage.commitWrites([update('roles', 'r2', 1)], context())
    ])
    expect(transactions).toBeLessThanOrEqual(2)
    expect(refusal(results[1]).kind).toBe('forbidden')
    expect(refusal(results[2]).kind).toBe('forbidden')
    expect(await feed('roles', 3)).toEqual([
      ['r0', 4, 2],
      ['r2', 5, 2]
    ])
  })

  it('a collection that does not exist refuses every call of the group', async () => {
    await newCollection('exists', 0)
    await storage.deleteCollection({ id: 'exists', actorId: owner.id })
    const results = await together([
      () => storage.commitWrites([{ op: 'create', collectionId: 'exists', id: 'a', data: {} }], context()),
      () => storage.commitWrites([{ op: 'create', collectionId: 'exists', id: 'b', data: {} }], context()),
      () => storage.commitWrites([{ op: 'create', collectionId: 'exists', id: 'c', data: {} }], context({ requireRole: undefined }))
    ])
    expect(refusal(results[0]).kind).toBe('forbidden')
    expect(refusal(results[1]).kind).toBe('forbidden')
    expect(refusal(results[2]).kind).toBe('not-found')
  })

  it('an idempotent retry inside a group is answered from its first write, and applies nothing again', async () => {
    await newCollection('keys', 5)
    const keyed = (key: string, fingerprint = `fp-${key}`): WriteContext =>
      context({ idempotencyKey: key, idempotency: { userId: owner.id, key, fingerprint, expiresAt: '2027-01-01T00:00:00.000Z' } })
    const write = (id: string, key: string, fingerprint?: string) => () => storage.commitWrites([update('keys', id, 1)], keyed(key, fingerprint))
    const earlier = await storage.commitWrites([update('keys', 'r4', 1)], keyed('k4'))
    transactions = 0
    // r0 goes alone; the rest, including the same request twice, share a group.
    const results = await together([
      write('r0', 'k0'),
      write('r1', 'k1'),
      write('r2', 'k2'),
      write('r1', 'k1'),
      write('r3', 'k3'),
      write('r3', 'k3', 'another request'),
      write('r4', 'k4'),
      write('r2', 'k5')
    ])
    expect(transactions).toBeLessThanOrEqual(2)
    const [first, a, b, again, other, reused, stored, late] = results
    for (const result of [first, a, b, other]) expect(value(result).replayed).toBe(false)
    expect(value(again).replayed).toBe(true)
    expect(value(again).records).toEqual(value(a).records)
    expect(refusal(reused).kind).toBe('key-reused')
    expect(value(stored)).toMatchObject({ replayed: true, records: earlier.records })
    // A new key on a record a member before it changed: an ordinary conflict.
    expect(refusal(late).kind).toBe('conflict')
    expect((await storage.getRecord('keys', 'r1'))!.version).toBe(2)
    expect((await storage.getCollection('keys'))!.seq).toBe(5 + 1 + 4)
    // The keys were stored with the group: a later retry is a replay too.
    const later = await storage.commitWrites([update('keys', 'r2', 1)], keyed('k2'))
    expect(later).toMatchObject({ replayed: true, records: value(b).records })
  })

  it('lock fencing inside a group: the holder writes with its token, a write without it or with a stale one is refused alone', async () => {
    await newCollection('fenced', 3)
    const { lock } = await storage.acquireLock({ collectionId: 'fenced', userId: owner.id, holder: 'device-1', mode: 'exclusive', expiresAt: '2027-01-01T00:00:00.000Z', now: at() })
    transactions = 0
    const write = (id: string, tokens?: Record<string, number>) => () =>
      storage.commitWrites([update('fenced', id, 1)], context(tokens === undefined ? {} : { lockTokens: tokens }))
    const results = await together([write('r0', { fenced: lock.token }), write('r1', { fenced: lock.token }), write('r2'), write('r2', { fenced: lock.token + 1 })])
    expect(transactions).toBeLessThanOrEqual(2)
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected'])
    expect(refusal(results[2]).kind).toBe('locked')
    expect(refusal(results[3]).kind).toBe('locked')
    expect(await feed('fenced', 3)).toEqual([
      ['r0', 4, 2],
      ['r1', 5, 2]
    ])
  })
})
