import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { jsonHeaders, signedIn, type TestClient } from '../helpers/clients.js'
import { describeInstances, startInstances, type Instances } from '../helpers/instances.js'

/**
 * Locks, fencing tokens, versioned writes and batch commits racing across
 * three instances on one PostgreSQL: each guarantee lives in the database
 * (a row lock, a counter on the collection's row, a compare-and-set in the
 * write's transaction), so calls spread over instances race exactly as calls
 * on one do. Every race is real: the calls are sent at once, one per
 * instance or more.
 */

interface Answer {
  status: number
  body: any
}

describeInstances('locks, versions and batches racing across three instances', (backend) => {
  let cluster: Instances
  let urls: string[]
  let owner: TestClient
  let headers: Record<string, string>

  beforeAll(async () => {
    cluster = await startInstances(backend, 3)
    urls = cluster.instances.map((instance) => instance.url)
    owner = await signedIn(urls[0]!, 'rest')
    headers = await jsonHeaders(owner)
  })
  afterAll(async () => {
    owner?.close()
    await cluster?.close()
  })

  /** One REST call through the `n`th instance (round robin over the three). */
  async function call(n: number, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${urls[n % urls.length]}${path}`, {
      method,
      headers: { ...headers, ...extra },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() }
  }

  async function newCollection(): Promise<string> {
    const id = `race-${randomUUID().slice(0, 8)}`
    expect((await call(0, 'POST', '/collections', { id })).status).toBe(201)
    return id
  }

  it('nine holders acquiring one exclusive lock through three instances at once: exactly one gets it, the others 423 naming it', async () => {
    const collectionId = await newCollection()
    const answers = await Promise.all(
      Array.from({ length: 9 }, (_, n) => call(n, 'POST', `/collections/${collectionId}/locks`, { holder: `device-${n}`, mode: 'exclusive', ttlSeconds: 30 }))
    )
    const granted = answers.filter((answer) => answer.status === 201)
    expect(granted).toHaveLength(1)
    expect(answers.filter((answer) => answer.status === 423)).toHaveLength(8)
    for (const refused of answers.filter((answer) => answer.status === 423)) {
      expect(refused.body.data.locks.map((lock: { holder: string }) => lock.holder)).toEqual([granted[0]!.body.holder])
    }
    // Every instance lists the same one lease.
    for (let n = 0; n < 3; n++) expect((await call(n, 'GET', `/collections/${collectionId}/locks`)).body.map((lock: { holder: string }) => lock.holder)).toEqual([granted[0]!.body.holder])
  })

  it('fencing tokens grow across instances, and a token that lost its lease is refused by every instance', async () => {
    const collectionId = await newCollection()
    const first = await call(0, 'POST', `/collections/${collectionId}/locks`, { holder: 'laptop', ttlSeconds: 30 })
    expect(first.status).toBe(201)
    // Writes under the lease through the other instances.
    expect((await call(1, 'POST', `/collections/${collectionId}/records`, { id: 'doc', data: { by: 'laptop' } }, { 'Lock-Token': String(first.body.token) })).status).toBe(201)
    expect((await call(2, 'POST', `/collections/${collectionId}/records`, { id: 'other', data: {} })).status).toBe(423)
    expect((await call(2, 'DELETE', `/collections/${collectionId}/locks/laptop`)).body.released).toBe(true)

    const second = await call(1, 'POST', `/collections/${collectionId}/locks`, { holder: 'phone', ttlSeconds: 30 })
    expect(second.status).toBe(201)
    expect(second.body.token).toBeGreaterThan(first.body.token)
    // The old token, through each instance: refused, nothing written.
    for (let n = 0; n < 3; n++) {
      const stale = await call(n, 'PUT', `/collections/${collectionId}/records/doc`, { data: { by: `stale-${n}` }, version: 1 }, { 'Lock-Token': String(first.body.token) })
      expect(stale.status).toBe(423)
    }
    const current = await call(2, 'PUT', `/collections/${collectionId}/records/doc`, { data: { by: 'phone' }, version: 1 }, { 'Lock-Token': String(second.body.token) })
    expect(current.status).toBe(200)
    expect((await call(0, 'GET', `/collections/${collectionId}/records/doc`)).body).toMatchObject({ version: 2, data: { by: 'phone' } })
  })

  it('nine writes based on the same version through three instances at once: exactly one applies, the others get 409 with the winner', async () => {
    const collectionId = await newCollection()
    expect((await call(0, 'POST', `/collections/${collectionId}/records`, { id: 'doc', data: { n: -1 } })).status).toBe(201)
    const answers = await Promise.all(Array.from({ length: 9 }, (_, n) => call(n, 'PUT', `/collections/${collectionId}/records/doc`, { data: { n }, version: 1 })))
    const applied = answers.filter((answer) => answer.status === 200)
    expect(applied).toHaveLength(1)
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(8)
    const winner = applied[0]!.body
    for (const conflict of answers.filter((answer) => answer.status === 409)) expect(conflict.body.data.current).toMatchObject({ version: 2, data: winner.data })
    // The feed holds one change for it, the winner's, on every instance.
    for (let n = 0; n < 3; n++) {
      const feed = (await call(n, 'GET', `/collections/${collectionId}/changes`)).body
      expect(feed.changes.map((change: { id: string; version: number; data: unknown }) => [change.id, change.version, change.data])).toEqual([['doc', 2, winner.data]])
    }
  })

  it('two batches over the same records committed through different instances at once: one applies whole, the other 409 and nothing of it', async () => {
    const collectionId = await newCollection()
    const ids = ['a', 'b', 'c', 'd']
    for (const id of ids) expect((await call(0, 'POST', `/collections/${collectionId}/records`, { id, data: { by: 'start' } })).status).toBe(201)
    const batches = ['left', 'right'].map((side) => ({ side, id: `${side}-${randomUUID()}` }))
    for (const [n, batch] of batches.entries()) {
      expect((await call(n, 'POST', '/batches', { id: batch.id })).status).toBe(201)
      const operations = ids.map((id) => ({ op: 'put', collectionId, id, data: { by: batch.side }, version: 1 }))
      expect((await call(n + 1, 'POST', '/batches', { id: batch.id, operations }, { 'X-Service-Method': 'append' })).status).toBe(200)
    }
    const commits = await Promise.all(batches.map((batch, n) => call(n + 1, 'POST', '/batches', { id: batch.id }, { 'X-Service-Method': 'commit' })))
    expect(commits.map((commit) => commit.status).sort()).toEqual([200, 409])
    const winner = batches[commits.findIndex((commit) => commit.status === 200)]!.side
    const records = (await call(2, 'GET', `/collections/${collectionId}/records`)).body.data as Array<{ id: string; version: number; data: { by: string } }>
    expect(records.map((record) => [record.id, record.version, record.data.by]).sort()).toEqual(ids.map((id) => [id, 2, winner]))
  })
})
