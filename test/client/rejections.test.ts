import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore, type WriteOutcome } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, localData, newId, serverData, session, until, outcome, synced } from './helpers.js'

/**
 * Writes the server refuses for good (403: a reader's write; 413: data over
 * limits.recordBytes) are parked as rejected with the server's reason, the
 * local record goes back to the server's state, later writes go on, and
 * dismissRejected() clears them.
 */
describeBackends('client rejections', (backend) => {
  let server: TestServer
  const clients = new Clients()
  const RECORD_BYTES = 200
  beforeAll(async () => {
    server = await startServer(backend, { limits: { recordBytes: RECORD_BYTES } })
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  it("403: a reader's writes are rejected with the reason, put back to the server's state, and do not block writes queued after them", async () => {
    const owner = await account(server.url)
    const reader = await account(server.url)
    const ownerApi = await session(server.url, owner)
    const shared = newId('shared')
    expect((await ownerApi('POST', 'collections', { id: shared })).status).toBe(201)
    expect((await ownerApi('POST', `collections/${shared}/records`, { id: 'doc', data: { text: 'original' } })).status).toBe(201)
    expect((await ownerApi('POST', `collections/${shared}/members`, { userId: reader.userId, role: 'reader' })).status).toBe(201)
    const own = newId('own')
    const client = clients.create({ url: server.url, auth: reader, store: memoryStore() })
    const outcomes: WriteOutcome[] = []
    client.onOutcome((outcome) => outcomes.push(outcome))
    const sharedCollection = client.collection(shared)
    const ownCollection = client.collection(own)
    await synced(client)
    expect(await localData(client, shared)).toEqual({ doc: { text: 'original' } })

    const edit = await sharedCollection.patch('doc', { text: 'edited by a reader' })
    const created = await sharedCollection.put('new', { text: 'new' })
    const mine = await ownCollection.put('note', { text: 'mine' })
    for (const write of [edit, created]) {
      expect(await outcome(client, write.writeId)).toMatchObject({ status: 'rejected', recordId: write.id, error: { code: 403, name: 'Forbidden', data: { role: 'reader', needs: 'writer' } } })
    }
    expect(await outcome(client, mine.writeId)).toMatchObject({ status: 'applied' })
    await synced(client)
    expect(await serverData(ownerApi, shared)).toEqual({ doc: { text: 'original' } })
    // Back to the server's state: the edit undone, the new record gone.
    expect(await sharedCollection.get('doc')).toMatchObject({ data: { text: 'original' }, pending: false })
    expect(await sharedCollection.get('new')).toBeUndefined()
    expect(await localData(client, own)).toEqual({ note: { text: 'mine' } })

    const rejected = await client.rejectedWrites()
    expect(rejected.map((entry) => [entry.id, entry.recordId, entry.state, entry.reason?.code]).sort()).toEqual(
      [[edit.writeId, 'doc', 'rejected', 403], [created.writeId, 'new', 'rejected', 403]].sort()
    )
    await until(() => client.status.get().rejected === 2, 'two rejected writes in the status')
    expect(client.status.get().pending).toBe(0)
    // awaitWrite answers a rejected write later too, from the store.
    expect((await outcome(client, edit.writeId)).status).toBe('rejected')

    await client.dismissRejected(edit.writeId)
    expect((await client.rejectedWrites()).map((entry) => entry.id)).toEqual([created.writeId])
    await until(() => client.status.get().rejected === 1, 'one rejected write left')
    await client.dismissRejected(created.writeId)
    expect(await client.rejectedWrites()).toEqual([])
    await until(() => client.status.get().rejected === 0, 'no rejected write left')
  })

  it('413: data over limits.recordBytes is rejected, alone, whether pushed by itself or with many others in a batch', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    const client = clients.create({ url: server.url, auth: user, store: memoryStore() })
    const notes = client.collection(collectionId)
    await notes.put('kept', { text: 'small' })
    await synced(client)
    const big = 'x'.repeat(RECORD_BYTES)

    // One record on its own: a single write.
    const tooBig = await notes.put('kept', { text: big })
    const after = await notes.put('after', { text: 'fine' })
    expect(await outcome(client, tooBig.writeId)).toMatchObject({ status: 'rejected', error: { code: 413, name: 'PayloadTooLarge' } })
    expect(await outcome(client, after.writeId)).toMatchObject({ status: 'applied' })
    expect(await notes.get('kept')).toMatchObject({ data: { text: 'small' }, serverVersion: 1, pending: false })

    // Many records at once (a batch upload): only the big one is rejected.
    const writes = []
    for (let i = 0; i < 12; i++) writes.push(await notes.put(`n${i}`, { i, text: i === 5 ? big : 'fine' }))
    for (const [i, write] of writes.entries()) {
      expect((await outcome(client, write.writeId)).status, `n${i}`).toBe(i === 5 ? 'rejected' : 'applied')
    }
    await synced(client)
    const onServer = await serverData(api, collectionId)
    expect(Object.keys(onServer).sort()).toEqual(['after', 'kept', ...writes.map((write) => write.id).filter((id) => id !== 'n5')].sort())
    expect(await notes.get('n5')).toBeUndefined()
    expect((await client.rejectedWrites()).map((entry) => entry.recordId).sort()).toEqual(['kept', 'n5'])
    await until(() => client.status.get().rejected === 2, 'two rejected writes in the status')
    for (const entry of await client.rejectedWrites()) {
      expect(entry.reason?.message).toMatch(/limits\.recordBytes/)
      await client.dismissRejected(entry.id)
    }
    expect(await client.rejectedWrites()).toEqual([])
    await until(() => client.status.get().rejected === 0, 'the rejected writes dismissed')
  })
})
