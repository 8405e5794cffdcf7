import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { ClientInputError, createRoost, memoryStore, type Json, type Roost } from '../../src/client/index.js'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account, Clients, newId, serverData, session, synced } from './helpers.js'

/** Fails with a ClientInputError, thrown at once or as the rejection of the call's promise. */
async function refused(call: () => unknown, message?: RegExp) {
  let caught: unknown
  try {
    await call()
  } catch (error) {
    caught = error
  }
  expect(caught, 'a ClientInputError').toBeInstanceOf(ClientInputError)
  if (message) expect((caught as Error).message).toMatch(message)
}

/** Everything the client keeps, to compare before and after a refused call. */
async function snapshot(roost: Roost, collectionId: string) {
  return { outbox: await roost.store.listOutbox(), records: await roost.store.listRecords(collectionId), pending: await roost.store.listPendingRecords() }
}

/**
 * Bad input to the client API fails at once with a ClientInputError and
 * writes nothing: no outbox entry, no local record, nothing on the server.
 */
describeBackends('client input', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  const badIds: unknown[] = ['', '.x', '__proto__', 'x'.repeat(129), 'a/b', 'a b', 'é', 1, null, undefined, {}, ['a']]
  const cycle: Record<string, unknown> = { a: 1 }
  cycle.self = cycle
  const deep: Json = Array.from({ length: 200 }).reduce<Json>((inner) => [inner], 1)
  const badData: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['a function', () => 1],
    ['a BigInt', 10n],
    ['a symbol', Symbol('s')],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a Date', new Date()],
    ['a Map', new Map()],
    ['a cycle', cycle],
    ['undefined inside', { a: undefined }],
    ['NaN inside an array', [1, NaN]],
    ['a function inside', { nested: { f: () => 1 } }],
    ['a Date inside', { when: new Date() }],
    ['a "__proto__" key', JSON.parse('{"a":{"__proto__":{"x":1}}}')],
    ['200 levels of nesting', deep]
  ]

  it('bad ids, data that is not JSON, a patch that is not an object, a delete of an unknown record: refused at once, nothing written', async () => {
    const user = await account(server.url)
    const api = await session(server.url, user)
    const collectionId = newId()
    const client = clients.create({ url: server.url, auth: user, store: memoryStore() })
    const notes = client.collection(collectionId)
    await notes.put('existing', { n: 1 })
    await synced(client)
    const before = await snapshot(client, collectionId)

    for (const id of badIds) {
      await refused(() => client.collection(id as string), /not a valid id/)
      await refused(() => notes.put(id as string, { n: 1 }), /not a valid id/)
      await refused(() => notes.patch(id as string, { n: 1 }), /not a valid id/)
      await refused(() => notes.delete(id as string), /not a valid id/)
      await refused(() => notes.get(id as string), /not a valid id/)
      await refused(() => client.transaction((scope) => scope.put(id as string, 'ok', 1)), /not a valid id/)
    }
    // Ids at the edges of the rule are fine: 128 characters, '.' after the first, '~', '_proto_'.
    for (const id of ['x'.repeat(128), 'a.b', '~', '_proto_', 'constructor']) expect((await notes.put(id, 1)).id).toBe(id)
    await synced(client)
    const edges = await snapshot(client, collectionId)

    for (const [what, data] of badData) {
      await refused(() => notes.put('new', data as Json), /not JSON|data is required/)
      await refused(() => notes.put('existing', data as Json), /not JSON|data is required/)
      if (typeof data === 'object' && data !== null && !Array.isArray(data) && !(data instanceof Date) && !(data instanceof Map)) {
        await refused(() => notes.patch('existing', data as Record<string, Json>), /not JSON/)
      }
      await refused(() => client.transaction((scope) => {
        scope.put(collectionId, 'fine', 1)
        scope.put(collectionId, 'new', data as Json)
      }), /not JSON|data is required/)
      expect(await snapshot(client, collectionId), what).toEqual(edges)
    }
    for (const fields of [5, 'text', null, [1, 2], undefined]) {
      await refused(() => notes.patch('existing', fields as unknown as Record<string, Json>), /must be an object/)
    }
    await refused(() => notes.delete('never-existed'), /no such record/)
    // A delete of an unknown record inside a group refuses the whole group.
    await refused(() => client.transaction((scope) => {
      scope.put(collectionId, 'fine', 1)
      scope.delete(collectionId, 'never-existed')
    }), /no such record/)
    await refused(() => client.transaction(() => undefined), /at least one write/)
    // resolve(): bad ids, bad resolutions, nothing to resolve.
    await refused(() => notes.resolve('', 'local'), /not a valid id/)
    await refused(() => notes.resolve('existing', 'mine' as never), /resolution/)
    await refused(() => notes.resolve('existing', { data: NaN } as never), /not JSON/)
    await refused(() => notes.resolve('existing', 'local'), /no conflict/)
    // Lock options are checked before anything is sent.
    await refused(() => notes.lock({ ttlSeconds: 0 }), /ttlSeconds/)
    await refused(() => notes.lock({ ttlSeconds: 1.5 }), /ttlSeconds/)
    await refused(() => notes.lock({ waitSeconds: -1 }), /waitSeconds/)
    await refused(() => notes.lock({ mode: 'mine' as never }), /mode/)
    await refused(() => client.collection(collectionId, { conflictPolicy: 'first-wins' as never }), /conflictPolicy/)

    expect(await snapshot(client, collectionId)).toEqual(edges)
    expect(edges.outbox).toEqual([])
    expect(before.outbox).toEqual([])
    await synced(client)
    expect(Object.keys(await serverData(api, collectionId)).sort()).toEqual(['_proto_', 'a.b', 'constructor', 'existing', 'x'.repeat(128), '~'].sort())
    expect(client.status.get()).toMatchObject({ pending: 0, rejected: 0, conflicts: 0, fatal: null })
  })

  it('createRoost refuses a bad url, auth, pageSize or conflictPolicy', async () => {
    const user = await account(server.url)
    const good = { url: server.url, auth: { email: user.email, password: user.password }, autoStart: false }
    const create = (options: Record<string, unknown>) => () => createRoost({ ...good, ...options } as never)
    for (const url of ['', 'not a url', 'localhost:3030', 'ftp://example.com', 42, undefined]) await refused(create({ url }), /url/)
    for (const auth of [undefined, null, {}, { email: user.email }, { password: 'x' }, { email: 1, password: 2 }, { accessToken: 5 }, 'token']) await refused(create({ auth }), /auth/)
    for (const pageSize of [0, 1001, 1.5, -1, '10', NaN]) await refused(create({ pageSize }), /pageSize/)
    for (const conflictPolicy of ['first-wins', 1, null, {}]) await refused(create({ conflictPolicy }), /conflictPolicy/)
    await refused(() => createRoost(undefined as never))
    // The good options do make a client, which works.
    const client = clients.create({ ...good, store: memoryStore() })
    const notes = client.collection(newId())
    await client.start()
    await notes.put('a', 1)
    await synced(client)
  })
})
