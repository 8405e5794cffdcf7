import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { AccountKeysMissingError, ClientInputError, memoryStore, RoostError, type Roost } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newEmail, newId, session, synced, until } from './helpers.js'

/**
 * roost.server: the online calls an app (the dashboard) makes about
 * collections, members, invitations, locks and the server's records,
 * through the client's own transport and session, against a real server.
 * The calls whose server side lands with the dashboard's server work
 * (breakLock, openBatches, stats, exportData) are in
 * server-api.operations.test.ts.
 */
describeBackends('roost.server', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  async function user(options: { keys?: boolean } = {}) {
    const credentials = await account(server.url)
    const roost = clients.create({ url: server.url, auth: credentials, store: memoryStore() })
    if (options.keys) await roost.account.create()
    return { ...credentials, roost, api: await session(server.url, credentials) }
  }

  /** `promise` must reject with a RoostError of `code`; returns it. */
  async function roostError(promise: Promise<unknown>, code: number): Promise<RoostError> {
    const error = await promise.then(
      () => {
        throw new Error(`expected a ${code}, but it succeeded`)
      },
      (caught: unknown) => caught
    )
    expect(error).toBeInstanceOf(RoostError)
    expect(error).toMatchObject({ code })
    return error as RoostError
  }

  it('creates, lists, reads, renames and deletes collections; deleting one the client syncs drops its local copy without a fatal error', async () => {
    const alice = await user()
    const first = await alice.roost.server.createCollection({ id: newId(), name: 'First' })
    expect(first).toMatchObject({ name: 'First', role: 'owner', ownerId: alice.userId })
    const second = await alice.roost.server.createCollection({})
    expect(second.id).toMatch(/./)
    expect((await alice.roost.server.collections()).map((c) => c.id).sort()).toEqual([first.id, second.id].sort())
    expect(await alice.roost.server.collection(first.id)).toMatchObject({ id: first.id, name: 'First', role: 'owner', encrypted: false })
    expect(await alice.roost.server.renameCollection(first.id, 'Renamed')).toMatchObject({ id: first.id, name: 'Renamed' })
    expect(await alice.roost.server.renameCollection(first.id, null)).toMatchObject({ name: null })

    // The client syncs `first`, with a record on the server.
    const notes = alice.roost.collection(first.id, { create: false })
    await notes.put('a', { text: 'hello' })
    await synced(alice.roost)
    expect(await alice.roost.store.getMeta(`cursor:${first.id}`)).toBeDefined()

    await alice.roost.server.deleteCollection(first.id)
    await roostError(alice.roost.server.collection(first.id), 404)
    expect(await alice.roost.store.listRecords(first.id)).toEqual([])
    expect(await alice.roost.store.getMeta(`cursor:${first.id}`)).toBeUndefined()
    expect(await alice.roost.store.getMeta<string[]>('collections')).not.toContain(first.id)
    await synced(alice.roost)
    expect(alice.roost.status.get().fatal).toBeNull()
    expect((await alice.roost.server.collections()).map((c) => c.id)).toEqual([second.id])
  })

  it('an encrypted collection: created with its first key epoch, shown as encrypted, and its server records are ciphertext', async () => {
    const alice = await user({ keys: true })
    const created = await alice.roost.server.createCollection({ id: newId(), encrypted: true })
    expect(await alice.roost.server.collection(created.id)).toMatchObject({ encrypted: true })
    expect((await alice.api('GET', `collections/${created.id}/key-epochs`)).body).toEqual([expect.objectContaining({ epoch: 1 })])

    // Opened without `encrypted: true`, it is still encrypted on this device: createCollection opted it in.
    const diary = alice.roost.collection(created.id, { create: false })
    await diary.put('d1', { text: 'secret' })
    await synced(alice.roost)
    const { total, records } = await alice.roost.server.records(created.id, { offset: 0, limit: 10 })
    expect(total).toBe(1)
    expect(Object.keys(records[0]!.data as object).sort()).toEqual(['c', 'e', 'n', 'v'])
    expect(JSON.stringify(records)).not.toContain('secret')

    // Without the account's keys on this device, nothing is created.
    const bob = await user()
    const id = newId()
    await expect(bob.roost.server.createCollection({ id, encrypted: true })).rejects.toBeInstanceOf(AccountKeysMissingError)
    await roostError(bob.roost.server.collection(id), 404)
  })

  it('invitations and members: invite by e-mail, list, accept, decline, revoke, change roles, remove, leave', async () => {
    const alice = await user()
    const bob = await user()
    const carol = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId(), name: 'Shared' })

    const toBob = await alice.roost.server.invite(id, bob.email, 'reader')
    const toCarol = await alice.roost.server.invite(id, carol.email, 'writer')
    const toNobody = await alice.roost.server.invite(id, newEmail(), 'reader')
    expect(toBob).toMatchObject({ collectionId: id, role: 'reader', status: 'pending', collectionName: 'Shared' })
    expect((await alice.roost.server.sentInvitations(id)).map((i) => i.id).sort()).toEqual([toBob.id, toCarol.id, toNobody.id].sort())
    expect((await bob.roost.server.invitations()).map((i) => i.id)).toEqual([toBob.id])
    // A reader may not see a collection's invitations.
    await roostError(bob.roost.server.sentInvitations(id), 404)

    expect(await bob.roost.server.acceptInvitation(toBob.id)).toMatchObject({ status: 'accepted' })
    expect(await carol.roost.server.declineInvitation(toCarol.id)).toMatchObject({ status: 'declined' })
    expect(await alice.roost.server.revokeInvitation(toNobody.id)).toMatchObject({ status: 'revoked' })
    expect(await alice.roost.server.sentInvitations(id)).toEqual([])
    expect(await bob.roost.server.invitations()).toEqual([])

    const members = await alice.roost.server.members(id)
    expect(members.map((m) => [m.email, m.role]).sort()).toEqual([[alice.email, 'owner'], [bob.email, 'reader']].sort())
    expect(await bob.roost.server.collection(id)).toMatchObject({ role: 'reader', encrypted: false })

    expect(await alice.roost.server.setRole(id, bob.userId, 'admin')).toMatchObject({ userId: bob.userId, role: 'admin' })
    await roostError(bob.roost.server.setRole(id, alice.userId, 'reader'), 403)
    await alice.roost.server.removeMember(id, bob.userId)
    await roostError(bob.roost.server.collection(id), 404)

    // Carol joins and leaves on her own; the last owner cannot leave.
    const again = await alice.roost.server.invite(id, carol.email, 'reader')
    await carol.roost.server.acceptInvitation(again.id)
    await carol.roost.server.leave(id)
    expect((await alice.roost.server.members(id)).map((m) => m.userId)).toEqual([alice.userId])
    const lastOwner = await roostError(alice.roost.server.leave(id), 409)
    expect(lastOwner.message).toMatch(/owner/i)
  })

  it('removing a member of an encrypted collection rotates its key, even from a device that never synced it', async () => {
    const alice = await user({ keys: true })
    const bob = await user({ keys: true })
    const { id } = await alice.roost.server.createCollection({ id: newId(), encrypted: true })
    const invitation = await alice.roost.server.invite(id, bob.email, 'writer')
    await bob.roost.server.acceptInvitation(invitation.id)

    // A device of Alice's without her keys could not rotate: it removes no one.
    const bare = clients.create({ url: server.url, auth: { email: alice.email, password: alice.password }, store: memoryStore() })
    await expect(bare.server.removeMember(id, bob.userId)).rejects.toBeInstanceOf(AccountKeysMissingError)
    expect((await bare.server.members(id)).map((m) => m.userId).sort()).toEqual([alice.userId, bob.userId].sort())

    // Alice's second device: her keys, but it never opened the collection.
    const tablet = clients.create({ url: server.url, auth: { email: alice.email, password: alice.password }, store: memoryStore() })
    await tablet.account.importRecoveryPhrase(await alice.roost.account.recoveryPhrase())
    await tablet.server.removeMember(id, bob.userId)
    const epochs = (await alice.api('GET', `collections/${id}/key-epochs`)).body as Array<{ epoch: number }>
    expect(epochs.map((epoch) => epoch.epoch).sort()).toEqual([1, 2])
    expect((await tablet.server.members(id)).map((m) => m.userId)).toEqual([alice.userId])
  })

  it('locks: every current lock of the collection, to any member', async () => {
    const alice = await user()
    const bob = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId() })
    await bob.roost.server.acceptInvitation((await alice.roost.server.invite(id, bob.email, 'writer')).id)
    expect(await alice.roost.server.locks(id)).toEqual([])
    const shared = alice.roost.collection(id, { create: false })
    await synced(alice.roost)
    const lock = await shared.lock({ mode: 'shared', ttlSeconds: 30 })
    const bobs = bob.roost.collection(id, { create: false })
    await synced(bob.roost)
    const bobLock = await bobs.lock({ mode: 'shared', ttlSeconds: 30 })
    const seen = await bob.roost.server.locks(id)
    expect(seen.map((l) => [l.userId, l.mode, l.token]).sort()).toEqual(
      [[alice.userId, 'shared', lock.token], [bob.userId, 'shared', bobLock.token]].sort()
    )
    await lock.release()
    await bobLock.release()
    expect(await alice.roost.server.locks(id)).toEqual([])
  })

  it('records: the server’s records as stored, paged in id order, tombstones on request', async () => {
    const alice = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId() })
    const notes = alice.roost.collection(id, { create: false })
    for (let i = 0; i < 12; i++) await notes.put(`r${String(i).padStart(2, '0')}`, { i })
    await synced(alice.roost)
    await notes.delete('r03')
    await notes.delete('r07')
    await synced(alice.roost)

    const firstPage = await alice.roost.server.records(id, { offset: 0, limit: 4 })
    expect(firstPage.total).toBe(10)
    expect(firstPage.records.map((r) => r.id)).toEqual(['r00', 'r01', 'r02', 'r04'])
    expect(firstPage.records[0]).toMatchObject({ collectionId: id, id: 'r00', data: { i: 0 }, version: 1, deleted: false, updatedBy: alice.userId })
    expect((await alice.roost.server.records(id, { offset: 8, limit: 4 })).records.map((r) => r.id)).toEqual(['r10', 'r11'])
    const tombstones = await alice.roost.server.records(id, { offset: 0, limit: 10, deleted: true })
    expect(tombstones).toMatchObject({ total: 2, records: [{ id: 'r03', deleted: true, data: null }, { id: 'r07', deleted: true, data: null }] })
    expect((await alice.roost.server.records(id, { offset: 0, limit: 0 })).total).toBe(10)
  })

  it('errors: bad input is a ClientInputError before any request; the server’s refusals are RoostErrors with code, name, message', async () => {
    const alice = await user()
    let requests = 0
    const counting = clients.create({
      url: server.url,
      auth: { email: alice.email, password: alice.password },
      store: memoryStore(),
      realtime: false,
      autoStart: false,
      fetch: (input, init) => {
        requests++
        return fetch(input, init)
      }
    })
    const bad: Array<() => Promise<unknown>> = [
      () => counting.server.collection('no spaces'),
      () => counting.server.createCollection({ id: '.hidden' }),
      () => counting.server.createCollection({ name: '' }),
      () => counting.server.renameCollection('ok', 'x'.repeat(257)),
      () => counting.server.setRole('ok', 'not a uuid!', 'reader'),
      () => counting.server.setRole('ok', '6b2b2d0c-8f7a-4d7e-9a55-0d1c4e9b7a10', 'boss' as never),
      () => counting.server.invite('ok', 'not-an-address', 'reader'),
      () => counting.server.records('ok', { offset: -1, limit: 10 }),
      () => counting.server.records('ok', { offset: 0, limit: 1001 }),
      () => counting.server.breakLock('ok', 'bad holder'),
      () => counting.server.exportData('__proto__')
    ]
    for (const call of bad) await expect(call()).rejects.toBeInstanceOf(ClientInputError)
    expect(requests).toBe(0)

    const missing = await roostError(alice.roost.server.collection(newId()), 404)
    expect(missing).toMatchObject({ name: 'NotFound' })
    expect(missing.message).toMatch(/./)
    const bob = await user()
    const { id } = await alice.roost.server.createCollection({ id: newId() })
    await roostError(bob.roost.server.members(id), 404)
    await roostError(bob.roost.server.deleteCollection(id), 404)
    const invalid = await roostError(alice.roost.server.invite(id, alice.email, 'reader'), 409)
    expect(invalid.name).toBe('Conflict')
  })

  it('signs in again after a 401 (an expired or revoked token) and repeats the call', async () => {
    const alice = await user()
    await alice.roost.server.collections()
    // The stored session's token no longer works: the server refuses it.
    const store = alice.roost.store
    const stale = await store.getMeta<{ accessToken: string; userId: string }>('session')
    const other = clients.create({ url: server.url, auth: { email: alice.email, password: alice.password }, store: memoryStore(), autoStart: false })
    await other.store.write([{ type: 'putMeta', key: 'session', value: { ...stale!, accessToken: `${stale!.accessToken.slice(0, -4)}AAAA` } }])
    expect(Array.isArray(await other.server.collections())).toBe(true)
    expect((await other.store.getMeta<{ accessToken: string }>('session'))?.accessToken).not.toBe(stale!.accessToken.slice(0, -4) + 'AAAA')
  })
})

describeBackends('roost.forget, onServerChange, onCollectionEvent, collection.page', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  async function client(credentials: { email: string; password: string }, options: { realtime?: boolean } = {}): Promise<Roost> {
    return clients.create({ url: server.url, auth: credentials, store: memoryStore(), realtime: options.realtime ?? true })
  }

  it('collection.page: a window ordered by id with counts, by id prefix, tombstones on request; RecordView.size', async () => {
    const alice = await account(server.url)
    const roost = await client(alice)
    const notes = roost.collection(newId())
    for (let i = 0; i < 30; i++) await notes.put(`${i % 2 === 0 ? 'even' : 'odd'}-${String(i).padStart(2, '0')}`, { i })
    await notes.put('text', { text: 'héllo 🦜' })
    await notes.delete('odd-01')
    const page = await notes.page({ offset: 2, limit: 3 })
    expect(page).toMatchObject({ matching: 30, total: 30 })
    expect(page.records.map((r) => r.id)).toEqual(['even-04', 'even-06', 'even-08'])
    const odd = await notes.page({ offset: 0, limit: 100, idPrefix: 'odd-' })
    expect(odd.matching).toBe(14)
    expect(odd.records[0]!.id).toBe('odd-03')
    const withTombstones = await notes.page({ offset: 0, limit: 2, idPrefix: 'odd-', includeDeleted: true })
    expect(withTombstones).toMatchObject({ matching: 15, total: 31 })
    expect(withTombstones.records[0]).toMatchObject({ id: 'odd-01', deleted: true, data: null, size: 0, pending: true })
    // size: the UTF-8 bytes of the data as JSON.
    const text = (await notes.page({ offset: 0, limit: 1, idPrefix: 'text' })).records[0]!
    expect(text.size).toBe(new TextEncoder().encode(JSON.stringify({ text: 'héllo 🦜' })).length)
    expect((await notes.get('even-00'))!.size).toBe(JSON.stringify({ i: 0 }).length)
    await expect(notes.page({ offset: -1, limit: 1 })).rejects.toBeInstanceOf(ClientInputError)
    await expect(notes.page({ offset: 0, limit: 5000 })).rejects.toBeInstanceOf(ClientInputError)
  })

  it('forget: refuses while writes are unsent, discards them on request (each rejected), drops the local copy; opened again, it downloads anew', async () => {
    const alice = await account(server.url)
    const roost = await client(alice)
    const collectionId = newId()
    const notes = roost.collection(collectionId)
    await notes.put('synced', { n: 1 })
    await synced(roost)

    // Offline writes wait in the outbox: forget refuses to lose them.
    await roost.close()
    const store = memoryStore()
    const offline = clients.create({ url: 'http://127.0.0.1:9', auth: alice, store, autoStart: false })
    const stranded = await offline.collection(collectionId).put('unsent', { n: 2 })
    await expect(offline.forget(collectionId)).rejects.toBeInstanceOf(ClientInputError)
    expect((await store.listOutbox()).map((entry) => entry.id)).toEqual([stranded.writeId])
    const outcome = offline.awaitWrite(stranded.writeId)
    await offline.forget(collectionId, { discard: true })
    expect(await outcome).toMatchObject({ status: 'rejected', error: { code: 0, name: 'Discarded' } })
    expect(await store.listOutbox()).toEqual([])
    expect(await store.listRecords(collectionId)).toEqual([])

    // On a synced client: records, cursor and the collection list entry go; the sync loop leaves it alone.
    const other = await client(alice)
    const again = other.collection(collectionId)
    await synced(other)
    expect((await again.list()).map((r) => r.id)).toEqual(['synced'])
    await other.forget(collectionId)
    expect(await other.store.listRecords(collectionId)).toEqual([])
    expect(await other.store.getMeta(`cursor:${collectionId}`)).toBeUndefined()
    expect(await other.store.getMeta<string[]>('collections')).toEqual([])
    await synced(other)
    expect(await other.store.listRecords(collectionId)).toEqual([])
    // Opened again: downloaded anew.
    const reopened = other.collection(collectionId)
    await synced(other)
    expect((await reopened.list()).map((r) => r.id)).toEqual(['synced'])
    await expect(other.forget('bad id')).rejects.toBeInstanceOf(ClientInputError)
  })

  it('onServerChange: each applied server change once, after it is in the store, from the first download, from realtime events and from polling', async () => {
    const alice = await account(server.url)
    const writer = await client(alice)
    for (const realtime of [true, false]) {
      const collectionId = newId()
      const notes = writer.collection(collectionId)
      await notes.put('a', { n: 1 })
      await notes.put('b', { n: 1 })
      await synced(writer)
      const reader = await client(alice, { realtime })
      const heard: Array<{ id: string; seq: number; version: number; deleted: boolean; inStore: number | null }> = []
      const stop = reader.onServerChange((change) => {
        // Already in the store when heard: the read started here finds it.
        void reader.store.getRecord(change.collectionId, change.id).then((record) => {
          heard.push({ id: change.id, seq: change.seq, version: change.version, deleted: change.deleted, inStore: record?.base?.version ?? null })
        })
        expect(change).toMatchObject({ collectionId, updatedBy: alice.userId })
        expect(typeof change.updatedAt).toBe('string')
      })
      reader.collection(collectionId)
      await synced(reader)
      await until(() => heard.length >= 2, 'the first download to be heard')
      await notes.put('a', { n: 2 })
      await notes.delete('b')
      await synced(writer)
      await until(() => heard.length >= 4, `the later changes to be heard (realtime: ${realtime})`, 15_000)
      await synced(reader)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const seqs = heard.map((change) => change.seq)
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(heard.slice(2).sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual([
        { id: 'a', seq: expect.any(Number), version: 2, deleted: false, inStore: 2 },
        { id: 'b', seq: expect.any(Number), version: 2, deleted: true, inStore: 2 }
      ])
      for (const change of heard) expect(change.inStore).toBeGreaterThanOrEqual(change.version)
      stop()
      await notes.put('a', { n: 3 })
      await synced(writer)
      await synced(reader)
      expect(heard).toHaveLength(4)
      await reader.close()
    }
  })

  it('onCollectionEvent: lock, member and removed events of collections the client syncs', async () => {
    const alice = await account(server.url)
    const bob = await account(server.url)
    const roost = await client(alice)
    const collectionId = newId()
    roost.collection(collectionId)
    await synced(roost)
    await until(() => roost.status.get().live, 'the socket to subscribe')
    const events: Array<{ type: string; collectionId: string }> = []
    const stop = roost.onCollectionEvent((event) => events.push(event))

    const lock = await roost.collection(collectionId).lock({ ttlSeconds: 30 })
    await until(() => events.some((event) => event.type === 'lock'), 'a lock event')
    await lock.release()
    await until(() => events.filter((event) => event.type === 'lock').length >= 2, 'the release event')

    const invitation = await roost.server.invite(collectionId, bob.email, 'reader')
    const bobs = await client(bob)
    await bobs.server.acceptInvitation(invitation.id)
    await until(() => events.some((event) => event.type === 'member'), 'a member event')

    await roost.server.deleteCollection(collectionId)
    await until(() => events.some((event) => event.type === 'removed'), 'a removed event')
    expect(events.every((event) => event.collectionId === collectionId)).toBe(true)
    stop()
    const count = events.length
    const other = newId()
    roost.collection(other)
    await synced(roost)
    const again = await roost.collection(other).lock({ ttlSeconds: 30 })
    await again.release()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(events).toHaveLength(count)
    await synced(roost)
    expect(roost.status.get().fatal).toBeNull()
  })
})
