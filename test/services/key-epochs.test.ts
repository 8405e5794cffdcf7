import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectionKeysClient, keyEpochsClient, membersClient, type KeyEpochCreate, type KeysEvent, type Role } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { eventually, failure, newEmail, signedIn, TRANSPORTS, type TestClient, type Transport } from '../helpers/clients.js'
import { b64, keysFor, putKey, wrappedKey } from '../helpers/keys.js'
import { startServer, type TestServer } from '../helpers/server.js'

describeBackends('key epochs', (backend) => {
  let server: TestServer
  const opened: TestClient[] = []
  const user = async (transport: Transport) => {
    const client = await signedIn(server.url, transport, newEmail())
    opened.push(client)
    return client
  }

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      /**
       * A collection of a new owner's, with a writer and a reader: the owner
       * and the writer have public keys, the reader has none.
       */
      const world = async () => {
        const owner = await user(transport)
        const writer = await user(transport)
        const reader = await user(transport)
        const { id: collectionId } = await owner.client.service('collections').create({})
        const add = (who: TestClient, role: Role) => membersClient(owner.client, collectionId).create({ userId: who.user.id, role })
        await add(writer, 'writer')
        await add(reader, 'reader')
        await putKey(owner.client, owner.user.id)
        await putKey(writer.client, writer.user.id)
        const keyed = [
          { userId: owner.user.id, keyVersion: 1 },
          { userId: writer.user.id, keyVersion: 1 }
        ]
        return { owner, writer, reader, collectionId, keyed }
      }

      it('an owner starts epoch 1 with a key for every member that has a public key; every member lists it', async () => {
        const { owner, writer, reader, collectionId, keyed } = await world()
        const epochs = keyEpochsClient(owner.client, collectionId)
        expect(await epochs.find()).toEqual([])

        const keys = keysFor(keyed)
        const created = await epochs.create({ epoch: 1, keys })
        expect(created.epoch).toEqual({ collectionId, epoch: 1, createdBy: owner.user.id, createdAt: expect.any(String), missing: [] })
        expect(created.keys).toHaveLength(2)
        for (const key of keys) {
          expect(created.keys).toContainEqual({ collectionId, epoch: 1, userId: key.userId, keyVersion: 1, wrappedKey: key.wrappedKey, wrappedBy: owner.user.id, createdAt: expect.any(String) })
        }

        expect(await epochs.find()).toEqual([created.epoch])
        expect(await keyEpochsClient(reader.client, collectionId).find()).toEqual([created.epoch])
        expect(await keyEpochsClient(writer.client, collectionId).find()).toEqual([created.epoch])

        // The next one, in order.
        const second = await epochs.create({ epoch: 2, keys: keysFor(keyed) })
        expect((await epochs.find()).map((epoch) => epoch.epoch)).toEqual([1, 2])
        expect(second.epoch.epoch).toBe(2)
      })

      it('only owners and admins start an epoch (403); strangers get 404 for every call, as for a missing collection', async () => {
        const { owner, writer, reader, collectionId, keyed } = await world()
        const stranger = await user(transport)
        const admin = await user(transport)
        await membersClient(owner.client, collectionId).create({ userId: admin.user.id, role: 'admin' })

        expect(await failure(keyEpochsClient(writer.client, collectionId).create({ epoch: 1, keys: keysFor(keyed) }))).toMatchObject({ code: 403, data: { role: 'writer', needs: 'admin' } })
        expect(await failure(keyEpochsClient(reader.client, collectionId).create({ epoch: 1, keys: keysFor(keyed) }))).toMatchObject({ code: 403, data: { role: 'reader', needs: 'admin' } })
        const asStranger = keyEpochsClient(stranger.client, collectionId)
        expect(await failure(asStranger.find())).toMatchObject({ code: 404, message: `Collection "${collectionId}" not found` })
        expect(await failure(asStranger.create({ epoch: 1, keys: keysFor(keyed) }))).toMatchObject({ code: 404, message: `Collection "${collectionId}" not found` })
        expect(await keyEpochsClient(owner.client, collectionId).find()).toEqual([])

        // An admin may (the admin has no key, so the set is the same).
        expect((await keyEpochsClient(admin.client, collectionId).create({ epoch: 1, keys: keysFor(keyed) })).epoch).toMatchObject({ epoch: 1, createdBy: admin.user.id })
      })

      it('409 epoch-taken: the epoch must be exactly current + 1', async () => {
        const { owner, collectionId, keyed } = await world()
        const epochs = keyEpochsClient(owner.client, collectionId)
        expect(await failure(epochs.create({ epoch: 2, keys: keysFor(keyed) }))).toMatchObject({ code: 409, data: { reason: 'epoch-taken', currentEpoch: 0 } })
        await epochs.create({ epoch: 1, keys: keysFor(keyed) })
        for (const epoch of [1, 3]) {
          const conflict = await failure(epochs.create({ epoch, keys: keysFor(keyed) }))
          expect(conflict).toMatchObject({ code: 409, name: 'Conflict', data: { reason: 'epoch-taken', currentEpoch: 1 } })
        }
        // Two managers rotating at once from the same epoch: one wins.
        const outcomes = await Promise.allSettled([epochs.create({ epoch: 2, keys: keysFor(keyed) }), epochs.create({ epoch: 2, keys: keysFor(keyed) })])
        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected'])
        expect((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
          code: 409,
          data: { reason: 'epoch-taken', currentEpoch: 2 }
        })
        expect((await epochs.find()).map((epoch) => epoch.epoch)).toEqual([1, 2])
      })

      it('409 members-changed: a member with a key left out, or a non-member put in; nothing is written', async () => {
        const { owner, writer, collectionId, keyed } = await world()
        const stranger = await user(transport)
        await putKey(stranger.client, stranger.user.id)
        const epochs = keyEpochsClient(owner.client, collectionId)

        const left = await failure(epochs.create({ epoch: 1, keys: keysFor([keyed[0]]) }))
        expect(left).toMatchObject({ code: 409, data: { reason: 'members-changed', missing: [writer.user.id], notMembers: [] } })
        const extra = await failure(epochs.create({ epoch: 1, keys: keysFor([...keyed, { userId: stranger.user.id, keyVersion: 1 }]) }))
        expect(extra).toMatchObject({ code: 409, data: { reason: 'members-changed', missing: [], notMembers: [stranger.user.id] } })
        expect(await epochs.find()).toEqual([])
        expect((await collectionKeysClient(owner.client, collectionId).find()).total).toBe(0)
      })

      it('409 stale-key: a key wrapped for a replaced public key; missing then names that member for the managers only', async () => {
        const { owner, writer, reader, collectionId, keyed } = await world()
        const epochs = keyEpochsClient(owner.client, collectionId)
        const first = await epochs.create({ epoch: 1, keys: keysFor(keyed) })
        expect(first.epoch.missing).toEqual([])

        // The writer replaces their key (a new device without the phrase, say): their key of epoch 1 no longer counts.
        await putKey(writer.client, writer.user.id, 1)
        expect((await epochs.find())[0].missing).toEqual([writer.user.id])
        expect((await keyEpochsClient(writer.client, collectionId).find())[0].missing).toEqual([])
        expect((await keyEpochsClient(reader.client, collectionId).find())[0].missing).toEqual([])

        const stale = await failure(epochs.create({ epoch: 2, keys: keysFor(keyed) }))
        expect(stale).toMatchObject({ code: 409, data: { reason: 'stale-key', userIds: [writer.user.id] } })
        expect((await epochs.find()).map((epoch) => epoch.epoch)).toEqual([1])

        const fresh = await epochs.create({ epoch: 2, keys: keysFor([keyed[0], { userId: writer.user.id, keyVersion: 2 }]) })
        expect(fresh.epoch.missing).toEqual([])
        // Epoch 1 still lacks a key for the writer's new version; epoch 2 has one.
        expect((await epochs.find()).map((epoch) => epoch.missing)).toEqual([[writer.user.id], []])
      })

      it('malformed bodies are 400s naming the problem, and write nothing', async () => {
        const { owner, collectionId, keyed } = await world()
        const epochs = keyEpochsClient(owner.client, collectionId)
        const [ownerKey] = keysFor([keyed[0]])
        const send = (data: unknown) => failure(epochs.create(data as KeyEpochCreate))
        const cases: Array<[unknown, RegExp]> = [
          [{ epoch: 1, keys: [...keysFor(keyed), ...Array.from({ length: 999 }, () => ({ ...ownerKey, userId: randomUUID() }))] }, /"data\.keys" must NOT have more than 1000 items/],
          [{ epoch: 1, keys: [{ ...ownerKey, wrappedKey: { ...wrappedKey(), enc: b64(31) } }] }, /"data\.keys\.0\.wrappedKey\.enc" must be 43 base64url characters/],
          [{ epoch: 1, keys: [{ ...ownerKey, wrappedKey: { ...wrappedKey(), c: `${b64(47)}*` } }] }, /"data\.keys\.0\.wrappedKey\.c" must be 64 base64url characters/],
          [{ epoch: 1, keys: [{ ...ownerKey, wrappedKey: { ...wrappedKey(), alg: 'x' } }] }, /"data\.keys\.0\.wrappedKey" has an unknown field "alg"/],
          [{ epoch: 1, keys: [{ ...ownerKey, wrappedKey: { ...wrappedKey(), v: 2 } }] }, /"data\.keys\.0\.wrappedKey\.v"/],
          [{ epoch: 1, keys: [{ ...ownerKey, keyVersion: 0 }] }, /"data\.keys\.0\.keyVersion" must be >= 1/],
          [{ epoch: 1, keys: [{ ...ownerKey, userId: 'not-a-uuid' }] }, /"data\.keys\.0\.userId" must match format "uuid"/],
          [{ epoch: 1, keys: [{ ...ownerKey, extra: true }] }, /"data\.keys\.0" has an unknown field "extra"/],
          [{ epoch: 0, keys: keysFor(keyed) }, /"data\.epoch" must be >= 1/],
          [{ epoch: 1, keys: keysFor(keyed), missing: [] }, /unknown field "missing"/],
          [{ epoch: 1 }, /is missing "keys"/],
          [{ epoch: 1, keys: [ownerKey, ownerKey] }, /"data\.keys\.1\.userId".*one key per user/]
        ]
        for (const [data, message] of cases) {
          const error = await send(data)
          expect(error.code, error.message).toBe(400)
          expect(error.message).toMatch(message)
        }
        expect(await failure(epochs.create([{ epoch: 1, keys: keysFor(keyed) }] as never))).toMatchObject({ code: 400 })
        expect(await epochs.find()).toEqual([])
      })

      it('an Idempotency-Key replays the first answer of a new epoch instead of a 409', async () => {
        const { owner, collectionId, keyed } = await world()
        const epochs = keyEpochsClient(owner.client, collectionId) as unknown as { create(data: KeyEpochCreate, params: object): Promise<unknown> }
        const key = `key-${randomUUID()}`
        const params = transport === 'rest' ? { headers: { 'Idempotency-Key': key } } : { query: { $idempotencyKey: key } }
        const body = { epoch: 1, keys: keysFor(keyed) }
        const first = await epochs.create(body, params)
        expect(await epochs.create(body, params)).toEqual(first)
        expect(await keyEpochsClient(owner.client, collectionId).find()).toHaveLength(1)
      })
    })
  }

  it('realtime: `collections keys` with type "epoch" reaches every member (subscribed or not), and no one else', async () => {
    const owner = await user('socketio')
    const reader = await user('socketio')
    const stranger = await user('socketio')
    const { id: collectionId } = await owner.client.service('collections').create({})
    await membersClient(owner.client, collectionId).create({ userId: reader.user.id, role: 'reader' })
    await putKey(owner.client, owner.user.id)

    const heard: Record<string, KeysEvent[]> = { owner: [], reader: [], stranger: [] }
    for (const [name, who] of Object.entries({ owner, reader, stranger })) {
      who.client.service('collections').on('keys', (event: KeysEvent) => heard[name].push(event))
    }
    // The stranger has a collection of their own, so a leak would have somewhere to go.
    await stranger.client.service('collections').create({})

    await keyEpochsClient(owner.client, collectionId).create({ epoch: 1, keys: keysFor([{ userId: owner.user.id, keyVersion: 1 }]) })
    await eventually(() => heard.owner.length === 1 && heard.reader.length === 1, 'the members to hear the new epoch')
    expect(heard.reader).toEqual([{ collectionId, epoch: 1, type: 'epoch' }])
    expect(heard.owner).toEqual([{ collectionId, epoch: 1, type: 'epoch' }])

    // A refused rotation announces nothing.
    await failure(keyEpochsClient(owner.client, collectionId).create({ epoch: 1, keys: keysFor([{ userId: owner.user.id, keyVersion: 1 }]) }))
    // Something the stranger does hear arrives after anything they might have wrongly heard.
    await stranger.client.service('collections').create({})
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(heard.stranger).toEqual([])
    expect(heard.owner).toHaveLength(1)
  })
})
