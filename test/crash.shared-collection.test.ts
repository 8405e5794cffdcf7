import { randomBytes, randomInt } from 'node:crypto'
import { afterAll, expect, it } from 'vitest'
import { recordsClient, type RecordItem } from '../src/client.js'
import { describeBackends, type TestDatabase } from './helpers/backends.js'
import { allChanges, connect } from './helpers/clients.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'

/**
 * "kill -9" during combined commits: 16 clients write to ONE collection at
 * once (so on PostgreSQL the writes that arrive while one is in flight are
 * committed together, src/storage/group-commit.ts), each request creating 3
 * records; the server process is SIGKILLed mid-stream and restarted on the
 * same database. Then every request the client saw succeed is there with the
 * positions it was told, every other one is wholly there or wholly absent
 * (never 1 or 2 of its 3 records), and positions are dense from 1.
 *
 * What makes it fail: answering a write before its group committed (an
 * acknowledged write missing after the restart), a group committed in parts
 * (a request with some of its records), or a failed member's reservation
 * left in the counter (a gap).
 */

const CLIENTS = 16
const PER_REQUEST = 3
const AUTH_SECRET = `crash-test-secret-${randomBytes(16).toString('hex')}`

describeBackends('crash: kill -9 during writes to one shared collection', (backend) => {
  let database: TestDatabase | undefined
  const servers: ServerProcess[] = []
  afterAll(async () => {
    for (const server of servers) await server.kill()
    await database?.cleanup()
  })

  it('keeps every acknowledged write, each other one whole or absent, and positions dense', async () => {
    database = await backend.create()
    const first = await startServerProcess(database, {}, { AUTH_SECRET })
    servers.push(first)
    const { client: setup } = connect(first.url, 'rest')
    const email = `crash-${randomBytes(4).toString('hex')}@example.com`
    await setup.service('users').create({ email, password: 'long enough password' })
    const { accessToken } = await setup.authenticate({ strategy: 'local', email, password: 'long enough password' })
    const { id: collectionId } = await setup.service('collections').create({ name: 'shared' })

    // Each client sends requests one after another until the kill; the kill comes after a random number of answers.
    const killAfter = randomInt(60, 200)
    const acknowledged = new Map<string, RecordItem[]>()
    const sent = new Set<string>()
    let killed = false
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const { client } = connect(first.url, 'rest')
        await client.authenticate({ strategy: 'jwt', accessToken })
        return client
      })
    )
    await Promise.all(
      clients.map(async (client, c) => {
        for (let n = 0; !killed; n++) {
          const request = `c${c}-n${n}`
          sent.add(request)
          const records = Array.from({ length: PER_REQUEST }, (_, i) => ({ id: `${request}-${i}`, data: { request, i } }))
          try {
            const created = (await recordsClient(client, collectionId).create(records)) as unknown as RecordItem[]
            acknowledged.set(request, created)
            if (!killed && acknowledged.size >= killAfter) {
              killed = true
              first.child.kill('SIGKILL')
            }
          } catch {
            if (!killed) throw new Error(`request ${request} failed before the kill`)
            return
          }
        }
      })
    )
    expect((await first.exited).signal).toBe('SIGKILL')

    const second = await startServerProcess(database, {}, { AUTH_SECRET })
    servers.push(second)
    const { client } = connect(second.url, 'rest')
    await client.authenticate({ strategy: 'jwt', accessToken })
    const changes = await allChanges(client, collectionId)

    // Dense positions from 1, no record twice.
    expect(changes.map((change) => change.seq)).toEqual(Array.from({ length: changes.length }, (_, i) => i + 1))
    expect(new Set(changes.map((change) => change.id)).size).toBe(changes.length)
    const byRequest = new Map<string, RecordItem[]>()
    for (const change of changes) {
      const { request } = change.data as { request: string }
      expect(sent.has(request), `${change.id} belongs to no request sent`).toBe(true)
      byRequest.set(request, [...(byRequest.get(request) ?? []), change])
    }
    // Whole or absent.
    for (const [request, records] of byRequest) expect(records.length, `request ${request}`).toBe(PER_REQUEST)
    // Every acknowledged request is there, at the positions its answer gave.
    for (const [request, created] of acknowledged) {
      const stored = byRequest.get(request)
      expect(stored, `acknowledged request ${request} is missing after the crash`).toBeDefined()
      expect(stored!.map((record) => [record.id, record.seq]).sort()).toEqual(created.map((record) => [record.id, record.seq]).sort())
    }
    await second.kill()
  }, 90_000)
})
