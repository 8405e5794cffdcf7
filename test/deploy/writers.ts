import { expect } from 'vitest'
import { memoryStore, signUp, type Roost } from '../../src/client/index.js'
import type { Json, ServerRecord, WriteOutcome } from '../../src/client/types.js'
import { Clients, newEmail, newId, PASSWORD, session, until, within } from '../client/helpers.js'
import { ServerView } from '../client/reliability/server-view.js'

/**
 * Client-library clients of several users writing to one shared collection,
 * each to records of its own (so no write can lose a conflict and every
 * acknowledged write must end on the server exactly as last written), and
 * what the test checks at the end.
 */
export class Writer {
  /** Ids of the records whose server changes this client applied (from pulls, realtime-started or not). */
  readonly heard = new Set<string>()
  readonly outcomes = new Map<string, WriteOutcome>()
  readonly writeIds: string[] = []
  /** What this writer last wrote to each of its records: what the server must end with. */
  readonly model = new Map<string, Json>()
  private count = 0

  constructor(
    readonly name: string,
    readonly roost: Roost,
    readonly collectionId: string
  ) {
    // Synced (and subscribed to) from the start, not from the first write.
    roost.collection(collectionId, { create: false })
    roost.onServerChange((change) => {
      if (change.collectionId === collectionId) this.heard.add(change.id)
    })
    roost.onOutcome((outcome) => this.outcomes.set(outcome.writeId, outcome))
  }

  /** One new record; every third time also a patch of an earlier one (so versions go beyond 1). */
  async writeOne(): Promise<string[]> {
    const collection = this.roost.collection(this.collectionId, { create: false })
    const i = this.count++
    const id = `${this.name}-${i}`
    const ids = [(await collection.put(id, { by: this.name, i })).writeId]
    this.model.set(id, { by: this.name, i })
    if (i >= 2 && i % 3 === 0) {
      const earlier = `${this.name}-${i - 2}`
      ids.push((await collection.patch(earlier, { patched: i })).writeId)
      this.model.set(earlier, { ...(this.model.get(earlier) as Record<string, Json>), patched: i })
    }
    this.writeIds.push(...ids)
    return ids
  }

  /** Waits for the outcome of every write so far: each must be applied. */
  async allApplied(timeoutMs = 20_000): Promise<void> {
    const outcomes = await within(Promise.all(this.writeIds.map((writeId) => this.roost.awaitWrite(writeId))), `${this.name}'s outcomes`, timeoutMs)
    expect(outcomes.filter((outcome) => outcome.status !== 'applied')).toEqual([])
  }
}

export interface Team {
  writers: Writer[]
  collectionId: string
  owner: { email: string; password: string }
}

/**
 * `count` users (the first owns the collection, the others are writers of
 * it), one client each with its own store, connected to `clientUrls[i % n]`,
 * synced once before the test writes.
 */
export async function team(clients: Clients, signUpUrl: string, clientUrls: string[], count: number, options: { pollIntervalMs?: number } = {}): Promise<Team> {
  const users = await Promise.all(
    Array.from({ length: count }, async () => {
      const email = newEmail()
      const { id } = await signUp(signUpUrl, email, PASSWORD)
      return { id, email, password: PASSWORD }
    })
  )
  const collectionId = newId('shared')
  const asOwner = await session(signUpUrl, users[0])
  expect((await asOwner('POST', 'collections', { id: collectionId })).status).toBe(201)
  for (const user of users.slice(1)) expect((await asOwner('POST', `collections/${collectionId}/members`, { userId: user.id, role: 'writer' })).status).toBe(201)
  const writers = users.map((user, index) => {
    const roost = clients.create({
      url: clientUrls[index % clientUrls.length],
      auth: { email: user.email, password: user.password },
      store: memoryStore(),
      realtime: true,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs })
    })
    return new Writer(`w${index}`, roost, collectionId)
  })
  await Promise.all(writers.map((writer) => within(writer.roost.whenSynced(), `${writer.name}'s first sync`)))
  // Live: the socket is up and subscribed, so changes reach the client as they commit.
  await until(() => writers.every((writer) => writer.roost.status.get().live), 'every client live')
  return { writers, collectionId, owner: users[0] }
}

/** Every writer writes one write every `intervalMs` until stopped. */
export function startWriting(writers: Writer[], intervalMs: number) {
  let stopped = false
  const loops = writers.map(async (writer) => {
    while (!stopped) {
      await writer.writeOne()
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })
  return {
    async stop() {
      stopped = true
      await Promise.all(loops)
    }
  }
}

/**
 * The end state: every write applied; the server holds exactly what the
 * writers last wrote, nothing more; every server version of a record was
 * answered to its writer (a write applied twice would make a version nobody
 * was told of); every client holds exactly the server's records and
 * versions, nothing pending, and heard every other client's records.
 */
export async function expectConverged(team: Team, serverUrl: string): Promise<void> {
  const { writers, collectionId } = team
  for (const writer of writers) await writer.allApplied()
  // Pulled after every write is on the server: each client reaches the end of the feed.
  await Promise.all(writers.map((writer) => within(writer.roost.whenSynced(), `${writer.name} synced`, 20_000)))

  const view = await ServerView.signIn(serverUrl, team.owner)
  const server = await view.records(collectionId)
  const live = new Map([...server].filter(([, record]) => !record.deleted))
  const expected = new Map(writers.flatMap((writer) => [...writer.model]))
  expect(Object.fromEntries([...live].map(([id, record]) => [id, record.data]))).toEqual(Object.fromEntries(expected))
  expect(server.size).toBe(expected.size)

  for (const writer of writers) {
    const answered = new Map<string, Set<number>>()
    for (const writeId of writer.writeIds) {
      const outcome = writer.outcomes.get(writeId)
      if (outcome?.status !== 'applied' || outcome.record === null) throw new Error(`${writer.name}: write ${writeId} has no applied record`)
      const versions = answered.get(outcome.recordId) ?? new Set<number>()
      versions.add(outcome.record.version)
      answered.set(outcome.recordId, versions)
    }
    for (const [id, versions] of answered) {
      const record = server.get(id) as ServerRecord
      expect([...versions].sort((a, b) => a - b), `${id}: the versions answered to ${writer.name}`).toEqual(Array.from({ length: record.version }, (_, n) => n + 1))
    }

    const local = await writer.roost.collection(collectionId, { create: false }).list()
    expect(
      Object.fromEntries(local.map((record) => [record.id, { data: record.data, version: record.serverVersion, pending: record.pending }])),
      `${writer.name}'s local records`
    ).toEqual(Object.fromEntries([...live].map(([id, record]) => [id, { data: record.data, version: record.version, pending: false }])))
    expect(await writer.roost.conflicts()).toEqual([])

    const others = writers.filter((other) => other !== writer).flatMap((other) => [...other.model.keys()])
    expect(others.filter((id) => !writer.heard.has(id)), `records of others ${writer.name} never heard of`).toEqual([])
  }
}
