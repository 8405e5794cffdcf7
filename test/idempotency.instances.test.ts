import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { jsonHeaders, signedIn, type TestClient } from './helpers/clients.js'
import { describeInstances, startInstances, type Instances } from './helpers/instances.js'

/**
 * Idempotency keys of the calls whose answer is stored after them
 * (collections, invitations, batches…) across instances: the key is claimed
 * in the database, so the same keyed call reaching three instances at once
 * runs once, and the others wait for its answer; a claim left by an instance
 * that died frees up when its lease ends.
 */

interface Answer {
  status: number
  replayed: boolean
  body: unknown
  retryAfter: string | null
}

describeInstances('idempotency keys across three instances', (backend) => {
  let cluster: Instances
  let urls: string[]
  let owner: TestClient
  let headers: Record<string, string>

  beforeAll(async () => {
    // A short wait, so the "still running" answer comes quickly; the lease is untouched (leases are set directly below).
    cluster = await startInstances(backend, 3, { idempotency: { waitSeconds: 1 } })
    urls = cluster.instances.map((instance) => instance.url)
    owner = await signedIn(urls[0]!, 'rest')
    headers = await jsonHeaders(owner)
  })
  afterAll(async () => {
    owner?.close()
    await cluster?.close()
  })

  /** One REST call through one instance, with an idempotency key. */
  async function call(url: string, method: string, path: string, key: string, body: unknown, extra: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${url}${path}`, { method, headers: { ...headers, ...extra, 'Idempotency-Key': key }, body: JSON.stringify(body) })
    return {
      status: response.status,
      replayed: response.headers.get('idempotent-replayed') === 'true',
      body: await response.json(),
      retryAfter: response.headers.get('retry-after')
    }
  }

  /** The same call through every instance at once: exactly one runs, the others replay its answer; later retries replay it too. */
  async function onceAcross(method: string, path: string, body: unknown, extra: Record<string, string> = {}): Promise<Answer> {
    const key = randomUUID()
    const answers = await Promise.all(urls.map((url) => call(url, method, path, key, body, extra)))
    expect(answers.filter((answer) => !answer.replayed)).toHaveLength(1)
    const [first] = answers.filter((answer) => !answer.replayed)
    for (const answer of answers) expect({ status: answer.status, body: answer.body }).toEqual({ status: first!.status, body: first!.body })
    for (const url of urls) expect(await call(url, method, path, key, body, extra)).toEqual({ ...first, replayed: true })
    return first!
  }

  it('a keyed collection create and invitation sent to three instances at once are applied once, and all get one answer', async () => {
    const id = `shared-${randomUUID()}`
    expect(await onceAcross('POST', '/collections', { id, name: 'Once' })).toMatchObject({ status: 201, body: { id, name: 'Once' } })

    // Each run of an invite makes a new invitation: only one exists.
    const invited = await onceAcross('POST', '/invitations', { collectionId: id, role: 'reader', email: 'guest@example.com' })
    expect(invited.status).toBe(201)
    const listed = await fetch(`${urls[1]}/invitations?collectionId=${id}`, { headers })
    expect(((await listed.json()) as { data: Array<{ id: string }> }).data.map((invitation) => invitation.id)).toEqual([(invited.body as { id: string }).id])
  })

  it('a keyed batch commit sent to three instances at once runs once: one answer is the commit, the others replay it', async () => {
    const id = `c-${randomUUID()}`
    expect((await call(urls[0]!, 'POST', '/collections', randomUUID(), { id })).status).toBe(201)
    const batch = await call(urls[0]!, 'POST', '/batches', randomUUID(), {})
    const batchId = (batch.body as { id: string }).id
    const operations = [{ op: 'put', collectionId: id, id: 'r', data: 1, ifNotExists: true }]
    expect((await call(urls[1]!, 'POST', '/batches', randomUUID(), { id: batchId, operations }, { 'X-Service-Method': 'append' })).body).toMatchObject({ operationCount: 1 })
    const committed = await onceAcross('POST', '/batches', { id: batchId }, { 'X-Service-Method': 'commit' })
    expect(committed).toMatchObject({ status: 200, body: { id: batchId, status: 'committed' } })
    const record = await fetch(`${urls[2]}/collections/${id}/records/r`, { headers })
    expect(await record.json()).toMatchObject({ version: 1, data: 1 })
  })

  it("a claim whose instance died is taken over when its lease ends; one that is still held gets 503 with Retry-After", async () => {
    const id = `c-${randomUUID()}`
    const storage = cluster.instances[0]!.app.get('storage')
    const patch = { name: 'Renamed' }
    expect((await call(urls[0]!, 'POST', '/collections', randomUUID(), { id })).status).toBe(201)
    // The request's fingerprint, as stored by a first run (the key is not part of it).
    expect((await call(urls[0]!, 'PATCH', `/collections/${id}`, `probe-${id}`, patch)).status).toBe(200)
    const { fingerprint } = (await storage.getIdempotencyKey(owner.user.id, `probe-${id}`, new Date().toISOString()))!
    /** Claims the key as an instance would before running the call (then dies: nobody renews or completes it). */
    const claimBy = async (key: string, token: string, leaseMs: number) => {
      const scope = { userId: owner.user.id, key, fingerprint, expiresAt: new Date(Date.now() + 60_000).toISOString() }
      const claim = { token, pendingUntil: new Date(Date.now() + leaseMs).toISOString() }
      expect(await storage.claimIdempotencyKey(scope, claim, new Date().toISOString())).toEqual({ state: 'claimed' })
    }

    // An instance claimed the key and died: a retry at another instance waits out its lease, then runs.
    await claimBy(`dead-${id}`, 'died', 500)
    const started = Date.now()
    const takenOver = await call(urls[1]!, 'PATCH', `/collections/${id}`, `dead-${id}`, patch)
    expect(Date.now() - started).toBeGreaterThanOrEqual(450)
    expect(takenOver).toMatchObject({ status: 200, replayed: false, body: { id, name: 'Renamed' } })
    expect(await call(urls[2]!, 'PATCH', `/collections/${id}`, `dead-${id}`, patch)).toEqual({ ...takenOver, replayed: true })

    // A claim held longer than idempotency.waitSeconds (1 here): 503, come back soon; the key is still free to complete.
    await claimBy(`busy-${id}`, 'busy', 60_000)
    const busy = await call(urls[2]!, 'PATCH', `/collections/${id}`, `busy-${id}`, patch)
    expect(busy).toMatchObject({ status: 503, retryAfter: '1', body: { message: expect.stringMatching(/still running/) } })
    await storage.releaseIdempotencyKey({ userId: owner.user.id, key: `busy-${id}`, fingerprint, expiresAt: new Date(Date.now() + 60_000).toISOString() }, 'busy')
    expect(await call(urls[2]!, 'PATCH', `/collections/${id}`, `busy-${id}`, patch)).toMatchObject({ status: 200, replayed: false })
  })
})
