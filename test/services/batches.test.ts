import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, recordsClient, type Batch, type BatchOperation, type ChangeEvent, type ClientApplication, type RecordItem } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, signedIn, TRANSPORTS, type TestClient, type Transport, jsonHeaders, eventually, device } from '../helpers/clients.js'
import { startServer, TestClock, type TestServer } from '../helpers/server.js'

// Operations as a client writes them.
const put = (collectionId: string, id: string, data: unknown, version?: number): BatchOperation =>
  version === undefined ? { op: 'put', collectionId, id, data, ifNotExists: true } : { op: 'put', collectionId, id, data, version }
const del = (collectionId: string, id: string, version: number): BatchOperation => ({ op: 'delete', collectionId, id, version })
/** What a put's data counts for against the byte limits. */
const size = (data: unknown) => Buffer.byteLength(JSON.stringify(data))

/** The whole feed of a collection after `since`, page by page until `more` is false. */
async function pullAll(client: ClientApplication, collectionId: string, since?: string, limit = 1000) {
  const changes: RecordItem[] = []
  let cursor = since
  for (;;) {
    const page = await changesClient(client, collectionId).find({ query: { ...(cursor ? { since: cursor } : {}), limit } })
    changes.push(...page.changes)
    cursor = page.cursor
    if (!page.more) return { changes, cursor }
  }
}

/** Every live record of a collection, page by page in change order. */
async function findAll(client: ClientApplication, collectionId: string, limit = 1000) {
  const records: RecordItem[] = []
  for (;;) {
    const page = await recordsClient(client, collectionId).find({ query: { $limit: limit, $skip: records.length, $sort: { seq: 1 } } })
    records.push(...page.data)
    if (page.data.length < limit) return records
  }
}

/** Positions of one commit are consecutive within a collection. */
const expectConsecutive = (seqs: number[]) => expect(seqs).toEqual(seqs.map((_, index) => seqs[0] + index))

/** Keeps every connection a test opens, to close them all in afterAll whatever happened. */
function connections() {
  const opened: Array<{ close(): void }> = []
  const keep = <T extends { close(): void }>(connection: T): T => {
    opened.push(connection)
    return connection
  }
  return {
    signedIn: async (url: string, transport: Transport) => keep(await signedIn(url, transport)),
    device: async (url: string, transport: Transport, user: TestClient) => keep(await device(url, transport, user)),
    closeAll: () => opened.splice(0).forEach((connection) => connection.close())
  }
}

/**
 * Counts, per tag, the records carrying `data.tag`, and reports every tag
 * seen only in part: a group must be visible whole or not at all.
 */
function partialGroups(where: string, records: RecordItem[], groups: Map<string, number>): string[] {
  const counts = new Map<string, number>()
  for (const record of records) {
    const tag = (record.data as { tag?: string } | null)?.tag
    if (tag !== undefined) counts.set(tag, (counts.get(tag) ?? 0) + 1)
  }
  const problems: string[] = []
  for (const [tag, count] of counts) {
    const expected = groups.get(tag)
    if (expected === undefined) problems.push(`${where}: unknown tag ${tag}`)
    else if (count !== expected) problems.push(`${where}: ${count} of the ${expected} records of ${tag}`)
  }
  return problems
}

// Also on the plain path ("[sqlite, no shortcuts]"…): these are the calls the storage speed-ups serve.
describeBackends('batches: atomic group uploads', (backend) => {
  let server: TestServer
  const open = connections()

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    open.closeAll()
    await server.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      let stranger: TestClient
      const batches = () => owner.client.service('batches')
      const collections = () => owner.client.service('collections')
      const newCollection = async () => (await collections().create({})).id
      const cursorOf = async (collectionId: string) => (await collections().get(collectionId)).cursor

      beforeAll(async () => {
        owner = await open.signedIn(server.url, transport)
        stranger = await open.signedIn(server.url, transport)
      })

      it('stages over several requests, invisibly; the commit applies the whole group, once', async () => {
        const collectionId = await newCollection()
        const records = recordsClient(owner.client, collectionId)
        const old = await records.create({ id: 'old', data: 'old' })
        const before = await cursorOf(collectionId)

        const opened = await batches().create({ ttl: 600 })
        expect(opened).toMatchObject({ status: 'open', operationCount: 0, bytes: 0, committedAt: null })
        expect(opened.id).toMatch(/^[0-9a-f-]{36}$/)
        // (createdAt and expiresAt come from two readings of the clock, a millisecond or so apart.)
        expect(Date.parse(opened.expiresAt) - Date.parse(opened.createdAt)).toBeGreaterThan(599_000)
        expect(Date.parse(opened.expiresAt) - Date.parse(opened.createdAt)).toBeLessThanOrEqual(600_000)
        // Opening the same id again (a lost answer, retried) returns the same batch.
        expect(await batches().create({ id: opened.id, ttl: 600 })).toEqual(opened)
        const { id } = opened

        await batches().append({ id, operations: [put(collectionId, 'a', { n: 'a' }), put(collectionId, 'b', { n: 'b' }), put(collectionId, 'c', { n: 'c' })] })
        const second = { id, operations: [put(collectionId, 'd', { n: 'd' }), put(collectionId, 'e', { n: 'e' })] }
        const afterSecond = await batches().append(second)
        expect(afterSecond).toMatchObject({ status: 'open', operationCount: 5, bytes: 5 * size({ n: 'a' }) })
        // The same request again (its answer was lost): nothing is staged twice.
        expect(await batches().append(second)).toEqual(afterSecond)
        // Re-sending an operation on a staged record replaces it.
        const third = await batches().append({ id, operations: [put(collectionId, 'b', { n: 'B', replaced: true }), del(collectionId, 'old', 1)] })
        expect(third).toMatchObject({ operationCount: 6, bytes: 4 * size({ n: 'a' }) + size({ n: 'B', replaced: true }) })
        expect(await batches().get(id)).toEqual(third)

        // Staged is invisible: not in records, not in the feed, the cursor has not moved.
        expect((await records.find({ query: { $limit: 100 } })).data).toEqual([old])
        expect((await failure(records.get('a'))).code).toBe(404)
        expect(await changesClient(owner.client, collectionId).find({ query: { since: before } })).toEqual({ changes: [], cursor: before, more: false })
        expect(await cursorOf(collectionId)).toBe(before)

        const committed = await batches().commit({ id })
        expect(committed).toMatchObject({ id, status: 'committed', operationCount: 6, committedAt: expect.any(String) })
        // Results in staging order: the replaced `b` keeps its place.
        expect(committed.results!.map((result) => [result.collectionId, result.id, result.outcome, result.version])).toEqual([
          [collectionId, 'a', 'created', 1],
          [collectionId, 'b', 'created', 1],
          [collectionId, 'c', 'created', 1],
          [collectionId, 'd', 'created', 1],
          [collectionId, 'e', 'created', 1],
          [collectionId, 'old', 'deleted', 2]
        ])
        const seqs = committed.results!.map((result) => result.seq)
        expectConsecutive(seqs)
        expect(seqs[0]).toBe(old.seq + 1)
        expect(committed.cursors).toEqual({ [collectionId]: await cursorOf(collectionId) })

        // The whole group is in the feed, at the positions the commit gave.
        const feed = await pullAll(owner.client, collectionId, before)
        expect(feed.changes.map((change) => [change.id, change.seq, change.version, change.deleted])).toEqual(
          committed.results!.map((result) => [result.id, result.seq, result.version, result.outcome === 'deleted'])
        )
        expect(feed.cursor).toBe(committed.cursors![collectionId])
        const live = await records.find({ query: { $sort: { id: 1 } } })
        expect(live.data.map((record) => [record.id, record.version, record.data, record.updatedBy])).toEqual([
          ['a', 1, { n: 'a' }, owner.user.id],
          ['b', 1, { n: 'B', replaced: true }, owner.user.id],
          ['c', 1, { n: 'c' }, owner.user.id],
          ['d', 1, { n: 'd' }, owner.user.id],
          ['e', 1, { n: 'e' }, owner.user.id]
        ])
        expect((await records.find({ query: { deleted: true } })).data).toEqual([expect.objectContaining({ id: 'old', version: 2, deleted: true })])

        // Committing again answers the same and applies nothing again.
        expect(await batches().commit({ id })).toEqual(committed)
        expect(await batches().get(id)).toEqual(committed)
        expect((await changesClient(owner.client, collectionId).find({ query: { since: committed.cursors![collectionId] } })).changes).toEqual([])
        expect((await records.find()).data.map((record) => record.version)).toEqual([1, 1, 1, 1, 1])

        // A committed batch takes nothing more and cannot be aborted.
        const late = await failure(batches().append({ id, operations: [put(collectionId, 'f', 1)] }))
        expect(late.code).toBe(409)
        expect(late.data).toEqual({ status: 'committed' })
        expect((await failure(batches().remove(id))).code).toBe(409)
        expect(await batches().get(id)).toEqual(committed)
        expect((await failure(records.get('f'))).code).toBe(404)
      })

      it('a conflicting batch fails with every conflict listed and applies nothing; fixed, the same batch commits', async () => {
        const collectionId = await newCollection()
        const records = recordsClient(owner.client, collectionId)
        const exists = await records.create({ id: 'exists', data: 'e' })
        await records.create({ id: 'stale', data: 's1' })
        const stale = await records.update('stale', { data: 's2', version: 1 })
        await records.create({ id: 'gone', data: 'g' })
        const gone = await records.remove('gone', { query: { version: 1 } })
        const fine = await records.create({ id: 'fine', data: 'f1' })
        const before = await cursorOf(collectionId)
        const everything = async () => [...(await records.find({ query: { $sort: { id: 1 } } })).data, ...(await records.find({ query: { deleted: true } })).data]
        const stateBefore = await everything()

        const { id } = await batches().create({})
        await batches().append({
          id,
          operations: [
            put(collectionId, 'fresh', 'new'),
            put(collectionId, 'exists', 'blind', undefined), // ifNotExists over a live record
            put(collectionId, 'stale', 'old base', 1) // version 2 is current
          ]
        })
        const staged = await batches().append({
          id,
          operations: [
            del(collectionId, 'gone', 1), // already deleted
            put(collectionId, 'never', 'update of nothing', 1),
            del(collectionId, 'never2', 1),
            put(collectionId, 'fine', 'f2', 1)
          ]
        })
        expect(staged.operationCount).toBe(7)

        const error = await failure(batches().commit({ id }))
        expect(error.code).toBe(409)
        expect(error.data).toEqual({
          conflicts: [
            { collectionId, id: 'exists', reason: 'exists', current: exists },
            { collectionId, id: 'stale', reason: 'version-mismatch', current: stale },
            { collectionId, id: 'gone', reason: 'deleted', current: gone },
            { collectionId, id: 'never', reason: 'missing', current: null },
            { collectionId, id: 'never2', reason: 'missing', current: null }
          ]
        })
        // Nothing applied: not the good operations either, and no position was used.
        expect(await everything()).toEqual(stateBefore)
        expect(await changesClient(owner.client, collectionId).find({ query: { since: before } })).toEqual({ changes: [], cursor: before, more: false })
        expect(await cursorOf(collectionId)).toBe(before)
        // The batch stays open with everything staged.
        expect(await batches().get(id)).toEqual(staged)

        // Fix the bad operations by re-sending them on the current versions.
        await batches().append({
          id,
          operations: [
            put(collectionId, 'exists', 'now an update', exists.version),
            put(collectionId, 'stale', 'on the current version', stale.version),
            put(collectionId, 'gone', 're-created', gone.version),
            put(collectionId, 'never', 'created'),
            put(collectionId, 'never2', 'created instead') // replaces the delete
          ]
        })
        const committed = await batches().commit({ id })
        expect(committed.status).toBe('committed')
        expect(committed.results!.map((result) => [result.id, result.outcome, result.version])).toEqual([
          ['fresh', 'created', 1],
          ['exists', 'updated', 2],
          ['stale', 'updated', 3],
          ['gone', 'created', 3],
          ['never', 'created', 1],
          ['never2', 'created', 1],
          ['fine', 'updated', 2]
        ])
        expectConsecutive(committed.results!.map((result) => result.seq))
        const after = await records.find({ query: { $sort: { id: 1 } } })
        expect(after.data.map((record) => [record.id, record.data])).toEqual([
          ['exists', 'now an update'],
          ['fine', 'f2'],
          ['fresh', 'new'],
          ['gone', 're-created'],
          ['never', 'created'],
          ['never2', 'created instead'],
          ['stale', 'on the current version']
        ])
        expect((await pullAll(owner.client, collectionId, before)).changes).toHaveLength(7)
        expect(fine.version).toBe(1)
      })

      it('since: a commit fails (409, data.changed) if a collection changed after the cursor given, and goes through if not', async () => {
        const x = await newCollection()
        const y = await newCollection()
        await recordsClient(owner.client, x).create({ id: 'x0', data: 0 })
        const cursorX = await cursorOf(x)
        const cursorY = await cursorOf(y)

        const { id } = await batches().create({})
        await batches().append({ id, operations: [put(x, 'x1', 1)] })

        // Another device writes to y (which the batch does not touch) after cursorY.
        await recordsClient(owner.client, y).create({ id: 'y0', data: 0 })
        const error = await failure(batches().commit({ id, since: { [x]: cursorX, [y]: cursorY } }))
        expect(error.code).toBe(409)
        expect(error.data).toEqual({ conflicts: [], changed: [{ collectionId: y, cursor: await cursorOf(y) }] })
        expect((await failure(recordsClient(owner.client, x).get('x1'))).code).toBe(404)
        expect(await cursorOf(x)).toBe(cursorX)

        // Both changed: both named.
        await recordsClient(owner.client, x).create({ id: 'x2', data: 2 })
        const both = await failure(batches().commit({ id, since: { [x]: cursorX, [y]: cursorY } }))
        expect(both.code).toBe(409)
        expect(both.data.changed).toHaveLength(2)
        expect(both.data.changed).toEqual(
          expect.arrayContaining([
            { collectionId: x, cursor: await cursorOf(x) },
            { collectionId: y, cursor: await cursorOf(y) }
          ])
        )
        expect((await failure(recordsClient(owner.client, x).get('x1'))).code).toBe(404)
        expect((await batches().get(id)).status).toBe('open')

        // Nothing changed since the cursors given: the commit goes through.
        const committed = await batches().commit({ id, since: { [x]: await cursorOf(x), [y]: await cursorOf(y) } })
        expect(committed.status).toBe('committed')
        expect(committed.cursors![x]).toBe(await cursorOf(x))
        expect((await recordsClient(owner.client, x).get('x1')).data).toBe(1)
      })

      it('a batch across collections is atomic, and answers with each collection’s cursor', async () => {
        const p = await newCollection()
        const q = await newCollection()
        const taken = await recordsClient(owner.client, q).create({ id: 'taken', data: 't' })
        const beforeQ = await cursorOf(q)

        const { id } = await batches().create({})
        await batches().append({ id, operations: [put(p, 'p1', 'p1'), put(q, 'q1', 'q1')] })
        await batches().append({ id, operations: [put(p, 'p2', 'p2'), put(q, 'q2', 'q2'), del(q, 'taken', 1)] })
        const committed = await batches().commit({ id })
        expect(committed.results!.map((result) => [result.collectionId, result.id, result.outcome])).toEqual([
          [p, 'p1', 'created'],
          [q, 'q1', 'created'],
          [p, 'p2', 'created'],
          [q, 'q2', 'created'],
          [q, 'taken', 'deleted']
        ])
        expect(committed.cursors).toEqual({ [p]: await cursorOf(p), [q]: await cursorOf(q) })
        // Positions are consecutive within each collection.
        const inP = committed.results!.filter((result) => result.collectionId === p).map((result) => result.seq)
        const inQ = committed.results!.filter((result) => result.collectionId === q).map((result) => result.seq)
        expect(inP).toEqual([1, 2])
        expect(inQ).toEqual([taken.seq + 1, taken.seq + 2, taken.seq + 3])
        const feedP = await pullAll(owner.client, p)
        expect(feedP.changes.map((change) => change.id)).toEqual(['p1', 'p2'])
        expect(feedP.cursor).toBe(committed.cursors![p])
        const feedQ = await pullAll(owner.client, q, beforeQ)
        expect(feedQ.changes.map((change) => change.id)).toEqual(['q1', 'q2', 'taken'])
        expect(feedQ.cursor).toBe(committed.cursors![q])

        // One conflict in q and nothing is applied in p either.
        const cursorP = await cursorOf(p)
        const cursorQ = await cursorOf(q)
        const second = await batches().create({})
        await batches().append({ id: second.id, operations: [put(p, 'p3', 'p3'), put(q, 'q3', 'q3'), put(q, 'q1', 'again')] })
        const error = await failure(batches().commit({ id: second.id }))
        expect(error.code).toBe(409)
        expect(error.data.conflicts).toEqual([{ collectionId: q, id: 'q1', reason: 'exists', current: expect.objectContaining({ id: 'q1', version: 1 }) }])
        expect((await failure(recordsClient(owner.client, p).get('p3'))).code).toBe(404)
        expect((await failure(recordsClient(owner.client, q).get('q3'))).code).toBe(404)
        expect([await cursorOf(p), await cursorOf(q)]).toEqual([cursorP, cursorQ])
      })

      it('refuses operations without a precondition (428), on collections the user cannot write (404) and bad input (400); nothing is staged', async () => {
        const collectionId = await newCollection()
        const { id: foreign } = await stranger.client.service('collections').create({})
        const { id } = await batches().create({})
        const staged = await batches().append({ id, operations: [put(collectionId, 'good', 'g')] })
        const refused = async (code: number, operations: unknown[], pattern?: RegExp) => {
          // Each bad operation comes with a good one: the whole request is refused.
          const error = await failure(batches().append({ id, operations: [put(collectionId, 'other', 'o'), ...operations] as BatchOperation[] }))
          expect(error.code, JSON.stringify(operations)).toBe(code)
          if (pattern) expect(error.message).toMatch(pattern)
        }

        await refused(428, [{ op: 'put', collectionId, id: 'x', data: 1 }], /"data\.operations\.1"/)
        await refused(428, [{ op: 'delete', collectionId, id: 'good' }])
        await refused(404, [put(foreign, 'x', 1)])
        await refused(404, [put('no-such-collection', 'x', 1)])
        await refused(400, [{ op: 'patch', collectionId, id: 'x', data: {}, version: 1 }])
        await refused(400, [put('bad id', 'x', 1)])
        await refused(400, [put(collectionId, '.hidden', 1)])
        await refused(400, [put(collectionId, 'x'.repeat(129), 1)])
        await refused(400, [{ op: 'put', collectionId, id: 'x', data: 1, version: 0 }])
        await refused(400, [{ op: 'put', collectionId, id: 'x', data: 1, ifNotExists: false }])
        await refused(400, [{ op: 'put', collectionId, id: 'x', ifNotExists: true }])
        await refused(400, [{ op: 'put', collectionId, id: 'x', data: 1, version: 1, ifNotExists: true }], /not both/)
        await refused(400, [{ op: 'delete', collectionId, id: 'good', version: 1, data: 1 }])
        await refused(400, [{ ...put(collectionId, 'x', 1), extra: true }])
        expect((await failure(batches().append({ id, operations: [] }))).code).toBe(400)
        expect((await failure(batches().append({ id: 'bad id', operations: [put(collectionId, 'x', 1)] }))).code).toBe(400)
        expect((await failure(batches().create({ id: 'bad id' }))).code).toBe(400)
        expect((await failure(batches().create({ ttl: 0 }))).code).toBe(400)
        expect((await failure(batches().create({ ttl: 86401 }))).code).toBe(400)
        expect((await failure(batches().get('bad id'))).code).toBe(400)
        // Conditions on a cursor that is not one, or on another user's collection.
        expect((await failure(batches().commit({ id, since: { [collectionId]: 'garbage' } }))).code).toBe(400)
        expect((await failure(batches().commit({ id, since: { [foreign]: 'garbage' } }))).code).toBe(404)

        expect(await batches().get(id)).toEqual(staged)
        const committed = await batches().commit({ id })
        expect(committed.results!.map((result) => result.id)).toEqual(['good'])
        expect((await recordsClient(owner.client, collectionId).find()).data.map((record) => record.id)).toEqual(['good'])
        expect((await stranger.client.service('collections').get(foreign)).cursor).toMatch(/^0\./)
      })

      it('an aborted batch drops its operations and cannot be committed (409); other users’ and unknown batches are 404', async () => {
        const collectionId = await newCollection()
        const { id } = await batches().create({})
        await batches().append({ id, operations: [put(collectionId, 'a', 1)] })
        const aborted = await batches().remove(id)
        expect(aborted).toMatchObject({ id, status: 'aborted' })
        expect(await batches().remove(id)).toEqual(aborted) // aborting again is harmless
        expect(await server.storage.listOperations(id)).toEqual([])

        const commit = await failure(batches().commit({ id }))
        expect(commit.code).toBe(409)
        expect(commit.data).toEqual({ status: 'aborted' })
        expect((await failure(batches().append({ id, operations: [put(collectionId, 'b', 1)] }))).code).toBe(409)
        expect(await batches().get(id)).toEqual(aborted)
        expect((await recordsClient(owner.client, collectionId).find()).total).toBe(0)
        expect(await cursorOf(collectionId)).toMatch(/^0\./)

        // Someone else's batch: as good as missing, whatever the call.
        const mine = await batches().create({})
        await batches().append({ id: mine.id, operations: [put(collectionId, 'mine', 1)] })
        const theirs = stranger.client.service('batches')
        expect((await failure(theirs.get(mine.id))).code).toBe(404)
        expect((await failure(theirs.append({ id: mine.id, operations: [put(collectionId, 'x', 1)] }))).code).toBe(404)
        expect((await failure(theirs.commit({ id: mine.id }))).code).toBe(404)
        expect((await failure(theirs.remove(mine.id))).code).toBe(404)
        expect((await failure(theirs.create({ id: mine.id }))).code).toBe(409)
        expect((await batches().get(mine.id)).status).toBe('open')
        expect((await batches().get(mine.id)).operationCount).toBe(1)

        for (const call of [
          () => batches().get('no-such-batch'),
          () => batches().commit({ id: 'no-such-batch' }),
          () => batches().append({ id: 'no-such-batch', operations: [put(collectionId, 'x', 1)] }),
          () => batches().remove('no-such-batch')
        ]) {
          expect((await failure(call())).code).toBe(404)
        }
        await batches().remove(mine.id)
      })
    })
  }

  it('over REST the custom methods are POST /batches with X-Service-Method', async () => {
    const owner = await open.signedIn(server.url, 'rest')
    const collectionId = (await owner.client.service('collections').create({})).id
    const headers = await jsonHeaders(owner)
    const post = (body: unknown, method?: string) =>
      fetch(`${server.url}/batches`, { method: 'POST', headers: { ...headers, ...(method ? { 'x-service-method': method } : {}) }, body: JSON.stringify(body) })

    const opened = await post({ id: 'over-rest' })
    expect(opened.status).toBe(201)
    expect(await opened.json()).toMatchObject({ id: 'over-rest', status: 'open' })
    const appended = await post({ id: 'over-rest', operations: [put(collectionId, 'r', { via: 'rest' })] }, 'append')
    expect(appended.status).toBe(200)
    expect(await appended.json()).toMatchObject({ operationCount: 1 })
    const committed = await post({ id: 'over-rest' }, 'commit')
    expect(committed.status).toBe(200)
    expect(await committed.json()).toMatchObject({ status: 'committed', results: [{ collectionId, id: 'r', outcome: 'created', version: 1 }] })
    const read = await fetch(`${server.url}/batches/over-rest`, { headers })
    expect((await read.json()).status).toBe('committed')
    expect((await post({ id: 'over-rest' }, 'nonsense')).status).toBeGreaterThanOrEqual(400)
  })

  it('realtime: one change event per record of the group, only after the commit, at consecutive positions', async () => {
    const owner = await open.signedIn(server.url, 'rest')
    const listener = await open.device(server.url, 'socketio', owner)
    const collectionId = (await owner.client.service('collections').create({})).id
    const barrier = (await owner.client.service('collections').create({})).id
    const records = recordsClient(owner.client, collectionId)
    await records.create({ id: 'old', data: 'old' })
    await listener.client.service('subscriptions').create({ collectionId })
    await listener.client.service('subscriptions').create({ collectionId: barrier })
    const heard: ChangeEvent[] = []
    const service = listener.client.service('collections') as unknown as { on(event: string, listener: (data: ChangeEvent) => void): void }
    service.on('change', (event: ChangeEvent) => heard.push(event))
    // Events arrive in order: once the barrier's is heard, any earlier one would have been.
    let barriers = 0
    const sync = async () => {
      await recordsClient(owner.client, barrier).create({ data: ++barriers })
      await eventually(() => heard.filter((event) => event.collectionId === barrier).length === barriers, 'the barrier event')
    }
    const heardIn = () => heard.filter((event) => event.collectionId === collectionId)

    const batches = owner.client.service('batches')
    const { id } = await batches.create({})
    await batches.append({ id, operations: [put(collectionId, 'a', 1), put(collectionId, 'b', 2)] })
    await batches.append({ id, operations: [put(collectionId, 'c', 3), del(collectionId, 'old', 1)] })
    await sync()
    expect(heardIn()).toEqual([]) // nothing staged is announced

    const committed = await batches.commit({ id })
    await eventually(() => heardIn().length === 4, 'four change events')
    const feed = await pullAll(owner.client, collectionId)
    const events = heardIn()
    expect(events.map((event) => event.record)).toEqual(feed.changes)
    expect(events.map((event) => event.seq)).toEqual(committed.results!.map((result) => result.seq))
    expectConsecutive(events.map((event) => event.seq))
    for (const event of events) expect(event.seq).toBe(event.record.seq)
    expect(events[3].cursor).toBe(committed.cursors![collectionId])

    // Committing again announces nothing again.
    expect(await batches.commit({ id })).toEqual(committed)
    await sync()
    expect(heardIn()).toHaveLength(4)
  })

  it('retries racing the first attempt: opening one id and committing one batch concurrently give one batch and one answer, applied once', async () => {
    const owner = await open.signedIn(server.url, 'rest')
    const devices = await Promise.all(Array.from({ length: 4 }, (_, i) => open.device(server.url, TRANSPORTS[i % 2], owner)))
    const collectionId = (await owner.client.service('collections').create({})).id
    for (let round = 0; round < 3; round++) {
      const id = `retried-${round}`
      const opened = await Promise.all(devices.map(({ client }) => client.service('batches').create({ id })))
      for (const batch of opened) expect(batch).toEqual(opened[0])
      await owner.client.service('batches').append({ id, operations: [put(collectionId, `${id}-a`, round), put(collectionId, `${id}-b`, round)] })
      const answers = await Promise.all(devices.map(({ client }) => client.service('batches').commit({ id })))
      expect(answers[0]).toMatchObject({ status: 'committed', operationCount: 2 })
      for (const answer of answers) expect(answer).toEqual(answers[0])
    }
    const feed = await pullAll(owner.client, collectionId)
    expect(feed.changes.map((change) => [change.id, change.version])).toEqual(
      [0, 1, 2].flatMap((round) => [
        [`retried-${round}-a`, 1],
        [`retried-${round}-b`, 1]
      ])
    )
    expect(feed.changes.map((change) => change.seq)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('concurrent commits of overlapping batches: one winner per record, 409 for the others, and readers never see part of a group', async () => {
    const CLIENTS = 4
    const ROUNDS = 3
    const OWN = 30
    const owner = await open.signedIn(server.url, 'rest')
    const collectionId = (await owner.client.service('collections').create({ id: `race-${backend.name}` })).id
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => open.device(server.url, TRANSPORTS[i % 2], owner)))
    const pullers = await Promise.all(TRANSPORTS.map((transport) => open.device(server.url, transport, owner)))
    const records = recordsClient(owner.client, collectionId)

    // Every batch: records of its own, new ids all batches of the round create,
    // and existing ones all of them update or delete. Puts carry the batch's tag.
    const tag = (round: number, client: number) => `r${round}-c${client}`
    const shared = (round: number, k: number) => `r${round}-shared-${k}`
    const fresh = (round: number, k: number) => `r${round}-new-${k}`
    const groups = new Map<string, number>()
    for (let round = 0; round < ROUNDS; round++) for (let i = 0; i < CLIENTS; i++) groups.set(tag(round, i), OWN + 3 + 3)

    let running = true
    let polls = 0
    const problems: string[] = []
    const poll = async (client: ClientApplication, index: number) => {
      while (running) {
        // Small pages so that page boundaries fall inside groups.
        const feed = await pullAll(client, collectionId, undefined, 17 + index * 10)
        problems.push(...partialGroups('feed', feed.changes, groups))
        const live = await recordsClient(client, collectionId).find({ query: { $limit: 1000 } })
        problems.push(...partialGroups('find', live.data, groups))
        polls++
      }
    }
    const pulling = pullers.map((puller, index) => poll(puller.client, index))

    try {
      for (let round = 0; round < ROUNDS; round++) {
        const seeded = await records.create([0, 1, 2, 3].map((k) => ({ id: shared(round, k), data: { seeded: true } })))
        const opened = await Promise.all(
          clients.map(async ({ client }, i) => {
            const batches = client.service('batches')
            const { id } = await batches.create({})
            const data = { tag: tag(round, i) }
            await batches.append({ id, operations: Array.from({ length: OWN }, (_, k) => put(collectionId, `${tag(round, i)}-own-${k}`, data)) })
            await batches.append({
              id,
              operations: [
                ...[0, 1, 2].map((k) => put(collectionId, fresh(round, k), data)),
                ...[0, 1, 2].map((k) => put(collectionId, shared(round, k), data, 1)),
                del(collectionId, shared(round, 3), 1)
              ]
            })
            return id
          })
        )
        const outcomes = await Promise.allSettled(opened.map((id, i) => clients[i].client.service('batches').commit({ id })))

        const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [{ i, batch: outcome.value as Batch }] : []))
        expect(winners).toHaveLength(1)
        const [{ i: winner, batch }] = winners
        expect(batch.results).toHaveLength(OWN + 7)
        expectConsecutive(batch.results!.map((result) => result.seq))

        // The state the winner left: its tag on everything it wrote.
        const current = new Map((await findAll(owner.client, collectionId)).map((record) => [record.id, record]))
        const tombstone = (await records.find({ query: { id: shared(round, 3), deleted: true } })).data[0]
        expect(tombstone).toMatchObject({ version: 2, deleted: true })
        for (let k = 0; k < 3; k++) {
          expect(current.get(fresh(round, k))).toMatchObject({ version: 1, data: { tag: tag(round, winner) } })
          expect(current.get(shared(round, k))).toMatchObject({ version: 2, data: { tag: tag(round, winner) } })
        }
        for (let i = 0; i < CLIENTS; i++) {
          const own = [...current.keys()].filter((id) => id.startsWith(`${tag(round, i)}-own-`))
          expect(own).toHaveLength(i === winner ? OWN : 0)
          if (i === winner) continue
          // Each loser hears of every record the winner took from it.
          const outcome = outcomes[i]
          expect(outcome.status).toBe('rejected')
          const error = (outcome as PromiseRejectedResult).reason as { code: number; data: { conflicts: unknown[] } }
          expect(error.code).toBe(409)
          expect(error.data.conflicts).toEqual([
            ...[0, 1, 2].map((k) => ({ collectionId, id: fresh(round, k), reason: 'exists', current: current.get(fresh(round, k)) })),
            ...[0, 1, 2].map((k) => ({ collectionId, id: shared(round, k), reason: 'version-mismatch', current: current.get(shared(round, k)) })),
            { collectionId, id: shared(round, 3), reason: 'deleted', current: tombstone }
          ])
          expect((await clients[i].client.service('batches').get(opened[i])).status).toBe('open')
          await clients[i].client.service('batches').remove(opened[i])
        }
        expect(seeded).toHaveLength(4)
      }
    } finally {
      running = false
      await Promise.all(pulling)
    }

    expect(problems).toEqual([])
    expect(polls).toBeGreaterThan(0)
    // A last look: exactly one group per round, whole.
    const final = await pullAll(owner.client, collectionId)
    expect(partialGroups('final', final.changes, groups)).toEqual([])
    const tags = new Set(final.changes.map((change) => (change.data as { tag?: string } | null)?.tag).filter((t) => t?.startsWith('r')))
    expect(tags.size).toBe(ROUNDS)

  })

  it('a reader polling while large batches (1000 operations in 10 appends) stage and commit never sees part of one', async () => {
    const BATCHES = 3
    const APPENDS = 10
    const PER_APPEND = 100
    const owner = await open.signedIn(server.url, 'rest')
    const collectionId = (await owner.client.service('collections').create({})).id
    const writers = await Promise.all(Array.from({ length: BATCHES }, (_, i) => open.device(server.url, TRANSPORTS[i % 2], owner)))
    const readers = await Promise.all(TRANSPORTS.map((transport) => open.device(server.url, transport, owner)))
    const groups = new Map(Array.from({ length: BATCHES }, (_, k) => [`big-${k}`, APPENDS * PER_APPEND]))

    let running = true
    let committing = false
    let polls = 0
    const problems: string[] = []
    const poll = async (client: ClientApplication) => {
      while (running) {
        // Pages of 700 so that page boundaries fall inside groups of 1000.
        const feed = (await pullAll(client, collectionId, undefined, 700)).changes
        const live = await findAll(client, collectionId, 700)
        problems.push(...partialGroups('feed', feed, groups), ...partialGroups('find', live, groups))
        // A poll over before the first commit was sent saw staging only: nothing at all.
        if (!committing && feed.length + live.length > 0) problems.push(`${feed.length + live.length} records visible before any commit`)
        polls++
      }
    }
    const reading = readers.map((reader) => poll(reader.client))

    let committed: Batch[] = []
    try {
      const ids = await Promise.all(
        writers.map(async ({ client }, k) => {
          const batches = client.service('batches')
          const { id } = await batches.create({ expectedOperations: APPENDS * PER_APPEND })
          for (let a = 0; a < APPENDS; a++) {
            const operations = Array.from({ length: PER_APPEND }, (_, n) => put(collectionId, `big-${k}-${a * PER_APPEND + n}`, { tag: `big-${k}`, n: a * PER_APPEND + n }))
            await batches.append({ id, operations })
          }
          return id
        })
      )
      const pollsBeforeCommit = polls
      committing = true
      // Two commits race each other, then a third commits alone: readers keep polling throughout.
      committed = await Promise.all(ids.slice(0, 2).map((id, k) => writers[k].client.service('batches').commit({ id })))
      committed.push(await writers[2].client.service('batches').commit({ id: ids[2] }))
      expect(pollsBeforeCommit).toBeGreaterThan(0)
    } finally {
      running = false
      await Promise.all(reading)
    }

    expect(problems).toEqual([])
    for (const batch of committed) {
      expect(batch.operationCount).toBe(APPENDS * PER_APPEND)
      expectConsecutive(batch.results!.map((result) => result.seq))
    }
    const all = await findAll(owner.client, collectionId)
    expect(all).toHaveLength(BATCHES * APPENDS * PER_APPEND)
    expect(partialGroups('final', all, groups)).toEqual([])
  })

  describe('time to live', () => {
    let timed: TestServer
    let owner: TestClient
    const clock = new TestClock()
    const timedOpen = connections()

    beforeAll(async () => {
      timed = await startServer(backend, {}, { clock: clock.now })
      owner = await timedOpen.signedIn(timed.url, 'socketio')
    })
    afterAll(async () => {
      timedOpen.closeAll()
      await timed.close()
    })

    it('an expired batch takes nothing more (410) and cannot be committed (410); the sweeper marks it expired and drops its operations', async () => {
      const batches = owner.client.service('batches')
      const collectionId = (await owner.client.service('collections').create({})).id
      const { id, createdAt, expiresAt } = await batches.create({ ttl: 60 })
      expect(Date.parse(expiresAt) - Date.parse(createdAt)).toBe(60_000)
      await batches.append({ id, operations: [put(collectionId, 'a', 1)] })
      const done = await batches.create({ ttl: 60 })
      await batches.append({ id: done.id, operations: [put(collectionId, 'done', 1)] })
      const committed = await batches.commit({ id: done.id })

      clock.advance(30)
      expect(await batches.append({ id, operations: [put(collectionId, 'b', 2)] })).toMatchObject({ status: 'open', operationCount: 2 })

      clock.advance(31)
      expect(await batches.get(id)).toMatchObject({ status: 'expired', operationCount: 2 })
      const commit = await failure(batches.commit({ id }))
      expect(commit.code).toBe(410)
      expect(commit.data).toEqual({ status: 'expired' })
      expect((await failure(batches.append({ id, operations: [put(collectionId, 'c', 3)] }))).code).toBe(410)
      expect((await recordsClient(owner.client, collectionId).find()).data.map((record) => record.id)).toEqual(['done'])
      // A committed batch past its expiry still answers its commit.
      expect(await batches.commit({ id: done.id })).toEqual(committed)

      expect(await timed.storage.listOperations(id)).toHaveLength(2)
      const swept = await timed.app.get('sweeper').run()
      expect(swept.expiredBatches).toBe(1)
      expect(await timed.storage.listOperations(id)).toEqual([])
      expect((await batches.get(id)).status).toBe('expired')
      expect((await failure(batches.commit({ id }))).code).toBe(410)
      expect((await failure(batches.append({ id, operations: [put(collectionId, 'c', 3)] }))).code).toBe(410)
      expect((await recordsClient(owner.client, collectionId).find()).data.map((record) => record.id)).toEqual(['done'])
      expect((await timed.app.get('sweeper').run()).expiredBatches).toBe(0)
    })
  })

  describe('limits', () => {
    let limited: TestServer
    const limits = { maxOperations: 5, maxBytes: 200, maxOpenPerUser: 2, maxStagedBytesPerUser: 300 }

    beforeAll(async () => {
      limited = await startServer(backend, { batches: limits })
    })
    const limitedOpen = connections()
    afterAll(async () => {
      limitedOpen.closeAll()
      await limited.close()
    })

    /** A fresh user (limits are per user) with a collection. */
    const setup = async (transport: Transport) => {
      const user = await limitedOpen.signedIn(limited.url, transport)
      const collectionId = (await user.client.service('collections').create({})).id
      return { user, batches: user.client.service('batches'), collectionId }
    }

    for (const transport of TRANSPORTS) {
      describe(`over ${transport}`, () => {
        it('refuses at open a batch declared larger than the limits: 413', async () => {
          const { batches } = await setup(transport)
          const tooMany = await failure(batches.create({ expectedOperations: 6 }))
          expect(tooMany.code).toBe(413)
          expect(tooMany.message).toMatch(/batches\.maxOperations/)
          const tooBig = await failure(batches.create({ expectedBytes: 201 }))
          expect(tooBig.code).toBe(413)
          expect(tooBig.message).toMatch(/batches\.maxBytes/)
          expect(await batches.create({ expectedOperations: 5, expectedBytes: 200 })).toMatchObject({ status: 'open' })
        })

        it('an append over maxOperations or maxBytes is refused whole (413); what was staged stays, and commits', async () => {
          const { user, batches, collectionId } = await setup(transport)
          const small = 'x'.repeat(10)
          const { id } = await batches.create({})
          const three = await batches.append({ id, operations: ['a', 'b', 'c'].map((key) => put(collectionId, key, small)) })
          expect(three).toMatchObject({ operationCount: 3, bytes: 3 * size(small) })

          const overCount = await failure(batches.append({ id, operations: ['d', 'e', 'f'].map((key) => put(collectionId, key, small)) }))
          expect(overCount.code).toBe(413)
          expect(overCount.message).toMatch(/batches\.maxOperations/)
          expect(await batches.get(id)).toEqual(three)

          // Replacing staged operations does not count them twice: 5 is fine.
          const five = await batches.append({ id, operations: ['a', 'd', 'e'].map((key) => put(collectionId, key, small)) })
          expect(five).toMatchObject({ operationCount: 5, bytes: 5 * size(small) })
          expect((await failure(batches.append({ id, operations: [put(collectionId, 'f', small)] }))).code).toBe(413)

          // Exactly at maxBytes is fine; one byte over is not.
          const long = 'y'.repeat(200 - 4 * size(small) - 2)
          const full = await batches.append({ id, operations: [put(collectionId, 'a', long)] })
          expect(full).toMatchObject({ operationCount: 5, bytes: 200 })
          const overBytes = await failure(batches.append({ id, operations: [put(collectionId, 'b', small + 'z')] }))
          expect(overBytes.code).toBe(413)
          expect(overBytes.message).toMatch(/batches\.maxBytes/)
          expect(await batches.get(id)).toEqual(full)

          const committed = await batches.commit({ id })
          expect(committed.results!.map((result) => result.id)).toEqual(['a', 'b', 'c', 'd', 'e'])
          const stored = await recordsClient(user.client, collectionId).find({ query: { $sort: { id: 1 } } })
          expect(stored.data.map((record) => record.data)).toEqual([long, small, small, small, small])
        })

        it('a third open batch is refused (429) until one is finished', async () => {
          const { batches } = await setup(transport)
          const first = await batches.create({})
          await batches.create({})
          const third = await failure(batches.create({}))
          expect(third.code).toBe(429)
          expect(third.message).toMatch(/batches\.maxOpenPerUser/)
          // Until the first open batch expires (the default ttl): a 429 always says when to come back.
          expect(third.data?.retryAfterSeconds).toBeGreaterThan(3500)
          // Opening an existing one again is not a new one.
          expect(await batches.create({ id: first.id })).toEqual(first)
          await batches.remove(first.id)
          expect(await batches.create({})).toMatchObject({ status: 'open' })
        })

        it('staging more than maxStagedBytesPerUser across open batches is refused (429), and nothing changes', async () => {
          const { batches, collectionId } = await setup(transport)
          const one = await batches.create({})
          const two = await batches.create({})
          await batches.append({ id: one.id, operations: [put(collectionId, 'one', 'o'.repeat(178))] })
          const before = await batches.append({ id: two.id, operations: [put(collectionId, 'two', 't'.repeat(98))] })
          expect(before.bytes).toBe(100)

          const over = await failure(batches.append({ id: two.id, operations: [put(collectionId, 'more', 'm'.repeat(28))] }))
          expect(over.code).toBe(429)
          expect(over.message).toMatch(/batches\.maxStagedBytesPerUser/)
          expect(over.data?.retryAfterSeconds).toBeGreaterThan(0)
          expect(await batches.get(two.id)).toEqual(before)

          // Once the other batch is committed its bytes no longer count.
          await batches.commit({ id: one.id })
          expect(await batches.append({ id: two.id, operations: [put(collectionId, 'more', 'm'.repeat(28))] })).toMatchObject({ operationCount: 2, bytes: 130 })
        })
      })
    }

    it('the per-user limits hold under concurrent opens and appends', async () => {
      const { user, batches, collectionId } = await setup('rest')
      const devices = await Promise.all(TRANSPORTS.map((transport) => limitedOpen.device(limited.url, transport, user)))
      const calls = (i: number) => devices[i % devices.length].client.service('batches')
      const settle = async (promises: Array<Promise<Batch>>) => {
        const outcomes = await Promise.allSettled(promises)
        const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code: number }).code] : []))
        return { opened: outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])), refused }
      }
      for (let round = 0; round < 5; round++) {
        // Four opens at once: two fit.
        const opens = await settle([0, 1, 2, 3].map((i) => calls(i).create({})))
        expect(opens.opened).toHaveLength(2)
        expect(opens.refused).toEqual([429, 429])
        // 190 bytes into each at once: one fits in the user's 300.
        const appends = await settle(opens.opened.map((batch, i) => calls(i).append({ id: batch.id, operations: [put(collectionId, `r${round}`, 'b'.repeat(188))] })))
        expect(appends.opened).toHaveLength(1)
        expect(appends.refused).toEqual([429])
        for (const batch of opens.opened) await batches.remove(batch.id)
      }
    })
  })
}, { plainPath: true })
