import { randomBytes, randomInt } from 'node:crypto'
import { afterAll, expect, it } from 'vitest'
import { recordsClient, type Batch, type ClientApplication, type RecordItem } from '../src/client.js'
import { describeBackends, type TestDatabase } from './helpers/backends.js'
import { allChanges, connect, signedIn } from './helpers/clients.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'

/**
 * "kill -9": a real server process is killed with SIGKILL while batch commits
 * are in flight, restarted on the same database, and must show every batch
 * either fully applied or not at all.
 *
 * What makes it fail: a commit that is not ONE transaction. Applying the first
 * half of a batch's operations in a transaction of its own (then the rest with
 * the status change) was tried as a temporary mutation of
 * the batch commit (then KnexStorage.commitBatch, now rules/batches.ts) and failed every run on both backends with "batch …
 * has 12 of 25 records after the crash". Writing the records and marking the
 * batch committed in separate transactions would show up as an applied batch
 * whose status is still `open` (and whose retry conflicts on `ifNotExists`),
 * or a `committed` one without its records. An answer sent before its
 * transaction is durable shows up as a commit the client saw succeed that is
 * missing after the restart, and a seq counter bumped outside the transaction
 * as a gap in the seqs. (SIGKILL leaves the OS page cache intact, so it cannot
 * catch fsync-level durability bugs such as synchronous=OFF: that needs a
 * power cut, not a killed process.)
 */

/** Batches, operations per batch, and commits kept in flight at once. */
const N = 40
const K = 25
const CONCURRENCY = 4
/** Appends per batch: K operations staged over this many requests. */
const APPENDS = 3
const AUTH_SECRET = `crash-test-secret-${randomBytes(16).toString('hex')}`
const verbose = process.env.CRASH_TEST_VERBOSE === '1'

/** Both processes share the secret, so the token from before the crash still works after it. */
const startServer = (database: TestDatabase): Promise<ServerProcess> =>
  // All N batches are open at once; the default allows 20 per user.
  startServerProcess(database, { batches: { maxOpenPerUser: N } }, { AUTH_SECRET })

const recordId = (batchId: string, index: number) => `${batchId}-r${index}`

/** Every live record of the collection, page by page in seq order. */
async function allRecords(client: ClientApplication, collectionId: string): Promise<RecordItem[]> {
  const records: RecordItem[] = []
  const pageSize = 500
  for (;;) {
    const page = await recordsClient(client, collectionId).find({ query: { $limit: pageSize, $skip: records.length, $sort: { seq: 1 } } })
    records.push(...page.data)
    if (page.data.length === 0 || records.length >= page.total) return records
  }
}

/**
 * Groups records by the batch their data is tagged with, checking each one is
 * a record a batch put (right id, version 1, its data) and that no id repeats.
 */
function byBatch(records: RecordItem[], batchIds: string[], collectionId: string): Map<string, RecordItem[]> {
  const groups = new Map<string, RecordItem[]>(batchIds.map((id) => [id, []]))
  const ids = new Set<string>()
  for (const record of records) {
    expect(ids.has(record.id), `record ${record.id} appears twice`).toBe(false)
    ids.add(record.id)
    const { batch, index } = record.data as { batch: string; index: number }
    const group = groups.get(batch)
    expect(group, `record ${record.id} is tagged with an unknown batch ${batch}`).toBeDefined()
    expect(record).toMatchObject({
      id: recordId(batch, index),
      collectionId,
      version: 1,
      deleted: false,
      data: { batch, index }
    })
    group!.push(record)
  }
  return groups
}

/** What a batch's commit must answer, given its records. */
function expectResultsMatch(batch: Batch, records: RecordItem[], collectionId: string): void {
  const seqs = new Map(records.map((record) => [record.id, record.seq]))
  expect(batch.status).toBe('committed')
  expect(batch.results).toHaveLength(K)
  batch.results!.forEach((result, index) => {
    const id = recordId(batch.id, index)
    expect(result).toEqual({ collectionId, id, outcome: 'created', version: 1, seq: seqs.get(id) })
  })
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++])
    })
  )
}

describeBackends('crash: kill -9 during batch commits', (backend) => {
  let database: TestDatabase | undefined
  const servers: ServerProcess[] = []

  afterAll(async () => {
    for (const server of servers) await server.kill()
    await database?.cleanup()
  })

  it(
    'applies every batch all or nothing across a SIGKILL, and a retry commits each exactly once',
    async () => {
      database = await backend.create()
      try {
        await crashAndRecover(database, servers)
      } catch (error) {
        // The servers' own account of what happened, only when something failed.
        const logs = servers.map((server, index) => `--- server ${index + 1} output ---\n${server.stdout()}${server.stderr()}`).join('\n')
        if (error instanceof Error) error.message += `\n${logs}`
        throw error
      }
    },
    60_000
  )
})

async function crashAndRecover(database: TestDatabase, servers: ServerProcess[]): Promise<void> {
  // ---- 1. A server process; a user, a collection and N staged batches.
  const first = await startServer(database)
  servers.push(first)
  const owner = await signedIn(first.url, 'rest')
  const accessToken = await owner.client.authentication.getAccessToken()
  expect(accessToken).toEqual(expect.any(String))
  const { id: collectionId } = await owner.client.service('collections').create({ name: 'crash' })
  const batchIds = Array.from({ length: N }, (_, index) => `crash-${index}-${randomBytes(4).toString('hex')}`)

  await pool(batchIds, 4, async (batchId) => {
    const batches = owner.client.service('batches')
    await batches.create({ id: batchId })
    const operations = Array.from({ length: K }, (_, index) => ({
      op: 'put' as const,
      collectionId,
      id: recordId(batchId, index),
      data: { batch: batchId, index },
      ifNotExists: true as const
    }))
    const size = Math.ceil(K / APPENDS)
    for (let start = 0; start < K; start += size) {
      await batches.append({ id: batchId, operations: operations.slice(start, start + size) })
    }
    const staged = await batches.get(batchId)
    expect(staged).toMatchObject({ status: 'open', operationCount: K })
  })
  // Staged operations are visible to no one before the commit.
  expect(await allRecords(owner.client, collectionId)).toEqual([])

  // ---- 2. Commits, CONCURRENCY in flight; SIGKILL at a random moment mid-stream.
  // After the killAfter-th success (killAfter random in [4, N - 2*CONCURRENCY]),
  // a random delay of up to ~3 commit intervals (measured so far) picks the
  // moment, so the kill lands anywhere in a commit's life: before its
  // transaction, inside it, or after it but before the answer. Commits keep
  // being launched meanwhile, so CONCURRENCY are in flight when it lands (and
  // asserted to be > 0 below); it is forced at the latest when only
  // CONCURRENCY + 1 batches are left unsent, so some are never sent.
  const killAfter = randomInt(4, N - 2 * CONCURRENCY + 1)
  const seen = new Map<string, Batch>()
  const errorsBeforeKill: string[] = []
  const sent: string[] = []
  let inFlightAtKill: string[] = []
  let killed = false
  let killDelayMs = 0
  await new Promise<void>((resolve) => {
    const inFlight = new Set<string>()
    let next = 0
    let killTimer: NodeJS.Timeout | undefined
    const startedAt = performance.now()
    const kill = () => {
      if (killed) return
      clearTimeout(killTimer)
      killed = true
      first.child.kill('SIGKILL')
      inFlightAtKill = [...inFlight]
    }
    const launch = () => {
      while (!killed && inFlight.size < CONCURRENCY && next < N) {
        if (N - next <= CONCURRENCY + 1) return kill()
        const batchId = batchIds[next++]
        inFlight.add(batchId)
        sent.push(batchId)
        owner.client
          .service('batches')
          .commit({ id: batchId })
          .then(
            (batch) => {
              // An answer that arrives after the kill was still sent by the server: it counts as seen.
              seen.set(batchId, batch)
              if (!killed && killTimer === undefined && seen.size === killAfter) {
                const interval = (performance.now() - startedAt) / seen.size
                killDelayMs = Math.random() * 3 * interval
                killTimer = setTimeout(kill, killDelayMs)
              }
            },
            (error: Error) => {
              // After the kill, failures are expected (the connection dies).
              if (!killed) errorsBeforeKill.push(`${batchId}: ${error.message}`)
            }
          )
          .finally(() => {
            inFlight.delete(batchId)
            launch()
            if (inFlight.size === 0 && (killed || next >= N)) resolve()
          })
      }
    }
    launch()
  })
  const exit = await first.exited
  expect(errorsBeforeKill).toEqual([])
  expect(killed).toBe(true)
  expect(exit.signal).toBe('SIGKILL')
  expect(inFlightAtKill.length).toBeGreaterThan(0)
  expect(seen.size).toBeGreaterThanOrEqual(killAfter)
  expect(sent.length).toBeLessThan(N)
  for (const [batchId, batch] of seen) expect(batch, batchId).toMatchObject({ id: batchId, status: 'committed' })

  // ---- 3. Restart on the same database with the same secret: the old token still works.
  const second = await startServer(database)
  servers.push(second)
  const { client } = connect(second.url, 'rest')
  await client.authenticate({ strategy: 'jwt', accessToken: accessToken! })

  const records = await allRecords(client, collectionId)
  const changes = await allChanges(client, collectionId)
  const recordGroups = byBatch(records, batchIds, collectionId)
  const changeGroups = byBatch(changes, batchIds, collectionId)
  // The feed and the records agree, change for change.
  expect(changes.map((change) => [change.id, change.seq])).toEqual(records.map((record) => [record.id, record.seq]))

  const applied = new Set<string>()
  for (const batchId of batchIds) {
    const count = recordGroups.get(batchId)!.length
    // All or nothing: a partly applied batch is exactly what a non-atomic commit would leave.
    expect([0, K], `batch ${batchId} has ${count} of ${K} records after the crash`).toContain(count)
    expect(changeGroups.get(batchId)!.length, `batch ${batchId} in the change feed`).toBe(count)
    if (count === K) applied.add(batchId)
  }
  // Every commit the client saw succeed survived, with the records it reported.
  for (const [batchId, batch] of seen) {
    expect(applied.has(batchId), `batch ${batchId} was committed (client saw it) but is not applied`).toBe(true)
    expectResultsMatch(batch, recordGroups.get(batchId)!, collectionId)
  }
  // Only batches that were sent can be applied, and the seq counter has no gaps or leftovers.
  for (const batchId of applied) expect(sent).toContain(batchId)
  expect(records.map((record) => record.seq)).toEqual(Array.from({ length: applied.size * K }, (_, index) => index + 1))

  // The batches say the same: committed (with the stored result) or still open.
  const before = new Map<string, Batch>()
  for (const batchId of batchIds) {
    const batch = await client.service('batches').get(batchId)
    before.set(batchId, batch)
    if (applied.has(batchId)) {
      expectResultsMatch(batch, recordGroups.get(batchId)!, collectionId)
      if (seen.has(batchId)) expect(batch).toEqual(seen.get(batchId))
    } else {
      expect(batch, `batch ${batchId}`).toMatchObject({ status: 'open', operationCount: K })
      expect(batch.results).toBeUndefined()
    }
  }

  // ---- 4. Retry every commit: the committed ones answer as before, the others apply now.
  const retried = new Map<string, Batch>()
  await pool(batchIds, CONCURRENCY, async (batchId) => {
    retried.set(batchId, await client.service('batches').commit({ id: batchId }))
  })
  const final = await allRecords(client, collectionId)
  const finalChanges = await allChanges(client, collectionId)
  const finalGroups = byBatch(final, batchIds, collectionId)
  byBatch(finalChanges, batchIds, collectionId)
  expect(final).toHaveLength(N * K)
  expect(finalChanges).toHaveLength(N * K)
  expect(finalChanges.map((change) => [change.id, change.seq])).toEqual(final.map((record) => [record.id, record.seq]))
  expect(final.map((record) => record.seq)).toEqual(Array.from({ length: N * K }, (_, index) => index + 1))
  for (const batchId of batchIds) {
    const batch = retried.get(batchId)!
    expect(finalGroups.get(batchId), `batch ${batchId} after the retry`).toHaveLength(K)
    expectResultsMatch(batch, finalGroups.get(batchId)!, collectionId)
    if (applied.has(batchId)) expect(batch, `replayed commit of ${batchId}`).toEqual(before.get(batchId))
    if (seen.has(batchId)) expect(batch, `replayed commit of ${batchId}`).toEqual(seen.get(batchId))
  }
  // And once more: every commit is now a replay, and nothing changes.
  for (const batchId of batchIds) expect(await client.service('batches').commit({ id: batchId })).toEqual(retried.get(batchId))
  expect(await allRecords(client, collectionId)).toEqual(final)

  if (verbose) {
    const inFlightApplied = inFlightAtKill.filter((id) => applied.has(id)).length
    console.log(
      `[crash] killAfter=${killAfter} delay=${killDelayMs.toFixed(1)}ms seen=${seen.size} sent=${sent.length} applied=${applied.size} ` +
        `inFlightAtKill=${inFlightAtKill.length} (applied ${inFlightApplied}, not ${inFlightAtKill.length - inFlightApplied})`
    )
  }
  await second.kill()
}
