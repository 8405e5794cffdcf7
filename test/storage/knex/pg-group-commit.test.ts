import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Backend, GroupOutcome, StorageTx, Tx } from '../../../src/storage/backend.js'
import { StorageError } from '../../../src/storage/errors.js'
import { KnexBackend } from '../../../src/storage/knex/knex-backend.js'
import { SyncStorage } from '../../../src/storage/sync-storage.js'
import type { CommitOutcome, RecordWrite, StoredUser, WriteContext } from '../../../src/storage/types.js'
import { describePostgres, type TestDatabase } from '../../helpers/backends.js'

/**
 * Group commit on PostgreSQL (src/storage/group-commit.ts,
 * src/storage/knex/shortcuts/pg-group-commit.ts): writes to one collection
 * that arrive while one is in flight are committed in one transaction, each
 * in a savepoint. The storage is the real one on a real database; the only
 * addition is a count of the groups the backend was asked to commit, so the
 * test knows the writes really were combined (each test fails if grouping
 * is switched off, and each checks the outcome any write would have alone).
 */
describePostgres('group commit', (backend) => {
  let database: TestDatabase
  let knexBackend: KnexBackend
  let storage: SyncStorage
  let owner: StoredUser
  const groups: number[] = []
  let tick = 0
  const at = (): string => new Date(Date.UTC(2026, 0, 1) + ++tick * 1000).toISOString()
  const context = (extra: Partial<WriteContext> = {}): WriteContext => ({ actor: owner.id, at: at(), requireRole: 'writer', ...extra })

  beforeAll(async () => {
    database = await backend.create()
    knexBackend = new KnexBackend(database.databaseUrl, database.dataDir, { shortcuts: true })
    const commitGroup = knexBackend.shortcuts!.commitGroup!
    // The real backend, counting the groups it commits.
    const counted: Backend = Object.assign(Object.create(knexBackend) as KnexBackend, {
      shortcuts: {
        ...knexBackend.shortcuts,
        commitGroup: <T>(works: Array<(tx: StorageTx) => Tx<T>>): Promise<Array<GroupOutcome<T>>> => {
          groups.push(works.length)
          return commitGroup(works)
        }
      }
    })
    storage = new SyncStorage(counted, { shortcuts: true })
    await storage.migrate()
    owner = await storage.createUser({ email: 'owner@example.com', password: 'x' }, at())
  })
  afterAll(async () => {
    await storage?.close()
    await database?.cleanup()
  })

  const newCollection = async (id: string, records: number) => {
    await storage.createCollection({ id, name: null, ownerId: owner.id }, at())
    const writes: RecordWrite[] = Array.from({ length: records }, (_, i) => ({ op: 'create', collectionId: id, id: `r${i}`, data: { n: 0 } }))
    if (records > 0) await storage.commitWrites(writes, context())
  }
  const settled = (promises: Array<Promise<CommitOutcome>>) => Promise.allSettled(promises)

  it('combines concurrent writes to one collection; one that conflicts fails alone, the others apply at dense positions', async () => {
    await newCollection('shared', 20)
    groups.length = 0
    const writes = Array.from({ length: 20 }, (_, i) =>
      storage.commitWrites([{ op: 'update', collectionId: 'shared', id: `r${i}`, data: { n: i }, baseVersion: i === 7 ? 5 : 1 }], context())
    )
    const results = await settled(writes)

    // The first went alone; the others waited for it and went together.
    expect(groups.reduce((sum, size) => sum + size, 0)).toBe(19)
    expect(groups.length).toBeLessThan(19)
    for (const [i, result] of results.entries()) {
      if (i === 7) {
        expect(result.status).toBe('rejected')
        const error = (result as PromiseRejectedResult).reason as StorageError
        expect(error).toBeInstanceOf(StorageError)
        expect(error.kind).toBe('conflict')
        expect(error.conflicts[0]).toMatchObject({ id: 'r7', reason: 'version-mismatch' })
      } else {
        expect(result.status).toBe('fulfilled')
        expect((result as PromiseFulfilledResult<CommitOutcome>).value.records[0]).toMatchObject({ id: `r${i}`, version: 2, data: { n: i } })
      }
    }
    // Positions 21…39: dense, one per applied write, none left by the conflict.
    const { changes } = await storage.changesSince('shared', { since: 20, limit: 100 })
    expect(changes.map((change) => change.seq)).toEqual(Array.from({ length: 19 }, (_, i) => 21 + i))
    expect((await storage.getCollection('shared'))!.seq).toBe(39)
    expect(changes.map((change) => change.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`).filter((id) => id !== 'r7').sort())
  })

  it('an idempotent retry inside a group is answered from its first write, and applies nothing again', async () => {
    await newCollection('keys', 4)
    groups.length = 0
    const keyed = (key: string): WriteContext =>
      context({ idempotencyKey: key, idempotency: { userId: owner.id, key, fingerprint: `fp-${key}`, expiresAt: '2027-01-01T00:00:00.000Z' } })
    const write = (id: string, key: string) => storage.commitWrites([{ op: 'update', collectionId: 'keys', id, data: { n: 1 }, baseVersion: 1 }], keyed(key))
    // r0 goes alone; the rest, including the same request twice, share a group.
    const [first, a, b, again, other] = await Promise.all([write('r0', 'k0'), write('r1', 'k1'), write('r2', 'k2'), write('r1', 'k1'), write('r3', 'k3')])
    expect(groups.reduce((sum, size) => sum + size, 0)).toBe(4)
    expect(first.replayed).toBe(false)
    expect(a.replayed).toBe(false)
    expect(b.replayed).toBe(false)
    expect(other.replayed).toBe(false)
    expect(again.replayed).toBe(true)
    expect(again.records).toEqual(a.records)
    expect((await storage.getRecord('keys', 'r1'))!.version).toBe(2)
    expect((await storage.getCollection('keys'))!.seq).toBe(4 + 4)
  })

  it('lock fencing inside a group: the holder writes with its token, a write without it is refused alone', async () => {
    await newCollection('fenced', 3)
    const { lock } = await storage.acquireLock({ collectionId: 'fenced', userId: owner.id, holder: 'device-1', mode: 'exclusive', expiresAt: '2027-01-01T00:00:00.000Z', now: at() })
    groups.length = 0
    const write = (id: string, tokens?: Record<string, number>) =>
      storage.commitWrites([{ op: 'update', collectionId: 'fenced', id, data: { n: 1 }, baseVersion: 1 }], context(tokens === undefined ? {} : { lockTokens: tokens }))
    const results = await settled([write('r0', { fenced: lock.token }), write('r1', { fenced: lock.token }), write('r2'), write('r1', { fenced: lock.token + 1 })])
    expect(groups.reduce((sum, size) => sum + size, 0)).toBe(3)
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected'])
    expect(((results[2] as PromiseRejectedResult).reason as StorageError).kind).toBe('locked')
    expect(((results[3] as PromiseRejectedResult).reason as StorageError).kind).toBe('locked')
    const { changes } = await storage.changesSince('fenced', { since: 3, limit: 10 })
    expect(changes.map((change) => [change.id, change.seq])).toEqual([
      ['r0', 4],
      ['r1', 5]
    ])
  })
})
