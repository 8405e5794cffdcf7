import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectionKeysClient, keyEpochsClient, membersClient, type CollectionKeysAdd, type KeysEvent, type Role } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { eventually, failure, newEmail, signedIn, TRANSPORTS, type TestClient, type Transport } from '../helpers/clients.js'
import { b64, keysFor, putKey, wrappedKey } from '../helpers/keys.js'
import { startServer, type TestServer } from '../helpers/server.js'

describeBackends('collection keys', (backend) => {
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
      /** An encrypted collection (epoch 1) of a new owner's, with a writer and a reader: all three have keys, and a key of epoch 1. */
      const world = async () => {
        const owner = await user(transport)
        const writer = await user(transport)
        const reader = await user(transport)
        const { id: collectionId } = await owner.client.service('collections').create({})
        const add = (who: TestClient, role: Role) => membersClient(owner.client, collectionId).create({ userId: who.user.id, role })
        await add(writer, 'writer')
        await add(reader, 'reader')
        for (const who of [owner, writer, reader]) await putKey(who.client, who.user.id)
        const keys = keysFor([owner, writer, reader].map((who) => ({ userId: who.user.id, keyVersion: 1 })))
        await keyEpochsClient(owner.client, collectionId).create({ epoch: 1, keys })
        return { owner, writer, reader, collectionId, keys, add }
      }

      it('owners see every key, ordered by epoch then user; other members only their own, and not another\'s (403); strangers 404', async () => {
        const { owner, writer, reader, collectionId, keys } = await world()
        const stranger = await user(transport)

        const all = await collectionKeysClient(owner.client, collectionId).find()
        expect(all).toMatchObject({ total: 3, limit: 100, skip: 0 })
        expect(all.data.map((key) => key.userId)).toEqual([owner, writer, reader].map((who) => who.user.id).sort())
        const readerKey = keys.find((key) => key.userId === reader.user.id)!
        expect(all.data).toContainEqual({ collectionId, epoch: 1, userId: reader.user.id, keyVersion: 1, wrappedKey: readerKey.wrappedKey, wrappedBy: owner.user.id, createdAt: expect.any(String) })
        expect((await collectionKeysClient(owner.client, collectionId).find({ query: { userId: reader.user.id, epoch: 1 } })).data).toHaveLength(1)
        expect((await collectionKeysClient(owner.client, collectionId).find({ query: { epoch: 2 } })).total).toBe(0)
        const paged = await collectionKeysClient(owner.client, collectionId).find({ query: { $limit: 1, $skip: 1 } })
        expect(paged).toMatchObject({ total: 3, limit: 1, skip: 1, data: [all.data[1]] })

        const asReader = collectionKeysClient(reader.client, collectionId)
        const own = await asReader.find()
        expect(own).toMatchObject({ total: 1, data: [{ userId: reader.user.id, wrappedKey: readerKey.wrappedKey }] })
        expect(await asReader.find({ query: { userId: reader.user.id } })).toEqual(own)
        expect(await failure(asReader.find({ query: { userId: owner.user.id } }))).toMatchObject({ code: 403, data: { role: 'reader', needs: 'admin' } })
        expect(await failure(collectionKeysClient(writer.client, collectionId).find({ query: { userId: reader.user.id } }))).toMatchObject({ code: 403 })
        expect(await failure(collectionKeysClient(stranger.client, collectionId).find())).toMatchObject({ code: 404, message: `Collection "${collectionId}" not found` })
        expect(await failure(collectionKeysClient(stranger.client, collectionId).find({ query: { userId: stranger.user.id } }))).toMatchObject({ code: 404 })
      })

      it('healing: a member who joined is `missing` until a manager adds their key; adding it again is skipped; a replaced key is replaced', async () => {
        const { owner, collectionId, add } = await world()
        const newcomer = await user(transport)
        await add(newcomer, 'writer')
        await putKey(newcomer.client, newcomer.user.id)
        const epochs = keyEpochsClient(owner.client, collectionId)
        expect((await epochs.find())[0].missing).toEqual([newcomer.user.id])

        const keys = collectionKeysClient(owner.client, collectionId)
        const [key] = keysFor([{ userId: newcomer.user.id, keyVersion: 1 }])
        const written = await keys.create({ epoch: 1, keys: [key] })
        expect(written).toEqual([{ collectionId, epoch: 1, userId: newcomer.user.id, keyVersion: 1, wrappedKey: key.wrappedKey, wrappedBy: owner.user.id, createdAt: expect.any(String) }])
        expect((await epochs.find())[0].missing).toEqual([])
        expect(await collectionKeysClient(newcomer.client, collectionId).find()).toMatchObject({ total: 1, data: [{ wrappedKey: key.wrappedKey }] })

        // The same user and key version again: kept as it was, not returned.
        expect(await keys.create({ epoch: 1, keys: keysFor([{ userId: newcomer.user.id, keyVersion: 1 }]) })).toEqual([])
        expect((await collectionKeysClient(newcomer.client, collectionId).find()).data[0].wrappedKey).toEqual(key.wrappedKey)

        // A new public key: the old wrapped key no longer counts, and a new one replaces it.
        await putKey(newcomer.client, newcomer.user.id, 1)
        expect((await epochs.find())[0].missing).toEqual([newcomer.user.id])
        const [renewed] = keysFor([{ userId: newcomer.user.id, keyVersion: 2 }])
        expect(await keys.create({ epoch: 1, keys: [renewed] })).toMatchObject([{ userId: newcomer.user.id, keyVersion: 2 }])
        expect(await collectionKeysClient(newcomer.client, collectionId).find()).toMatchObject({ total: 1, data: [{ keyVersion: 2, wrappedKey: renewed.wrappedKey }] })
        expect((await epochs.find())[0].missing).toEqual([])
      })

      it('two managers healing at once both succeed, with one row as the result', async () => {
        const { owner, collectionId, add } = await world()
        const admin = await user(transport)
        await add(admin, 'admin')
        await putKey(admin.client, admin.user.id)
        const newcomer = await user(transport)
        await add(newcomer, 'reader')
        await putKey(newcomer.client, newcomer.user.id)

        const heal = (who: TestClient) => collectionKeysClient(who.client, collectionId).create({ epoch: 1, keys: keysFor([{ userId: newcomer.user.id, keyVersion: 1 }]) })
        const [a, b] = await Promise.all([heal(owner), heal(admin)])
        expect(a.length + b.length).toBe(1)
        expect((await collectionKeysClient(owner.client, collectionId).find({ query: { userId: newcomer.user.id } })).total).toBe(1)
      })

      it('refusals: writers and readers may not add (403); an epoch that does not exist (404); a non-member (409 members-changed); an old key version (409 stale-key): nothing is written', async () => {
        const { owner, writer, reader, collectionId } = await world()
        const stranger = await user(transport)
        await putKey(stranger.client, stranger.user.id)
        const readerKey = () => keysFor([{ userId: reader.user.id, keyVersion: 1 }])
        const before = await collectionKeysClient(owner.client, collectionId).find()

        expect(await failure(collectionKeysClient(writer.client, collectionId).create({ epoch: 1, keys: readerKey() }))).toMatchObject({ code: 403, data: { role: 'writer', needs: 'admin' } })
        expect(await failure(collectionKeysClient(reader.client, collectionId).create({ epoch: 1, keys: readerKey() }))).toMatchObject({ code: 403 })
        expect(await failure(collectionKeysClient(stranger.client, collectionId).create({ epoch: 1, keys: readerKey() }))).toMatchObject({ code: 404, message: `Collection "${collectionId}" not found` })

        const keys = collectionKeysClient(owner.client, collectionId)
        const missingEpoch = await failure(keys.create({ epoch: 5, keys: readerKey() }))
        expect(missingEpoch).toMatchObject({ code: 404, name: 'NotFound' })
        expect(missingEpoch.message).toMatch(/epoch 5 does not exist/i)
        expect(await failure(keys.create({ epoch: 1, keys: [...readerKey(), ...keysFor([{ userId: stranger.user.id, keyVersion: 1 }])] }))).toMatchObject({
          code: 409,
          data: { reason: 'members-changed', notMembers: [stranger.user.id] }
        })
        await putKey(reader.client, reader.user.id, 1)
        expect(await failure(keys.create({ epoch: 1, keys: readerKey() }))).toMatchObject({ code: 409, data: { reason: 'stale-key', userIds: [reader.user.id] } })
        expect(await failure(keys.create({ epoch: 1, keys: keysFor([{ userId: reader.user.id, keyVersion: 3 }]) }))).toMatchObject({ code: 409, data: { reason: 'stale-key', userIds: [reader.user.id] } })
        expect(await collectionKeysClient(owner.client, collectionId).find()).toEqual(before)
      })

      it('malformed bodies and queries are 400s naming the problem, and write nothing', async () => {
        const { owner, reader, collectionId } = await world()
        const keys = collectionKeysClient(owner.client, collectionId)
        const before = await keys.find()
        const [readerKey] = keysFor([{ userId: reader.user.id, keyVersion: 1 }])
        const cases: Array<[unknown, RegExp]> = [
          [{ epoch: 1, keys: Array.from({ length: 1001 }, () => ({ ...readerKey, userId: randomUUID() })) }, /"data\.keys" must NOT have more than 1000 items/],
          [{ epoch: 1, keys: [{ ...readerKey, wrappedKey: { ...wrappedKey(), enc: `${b64(31)}!` } }] }, /"data\.keys\.0\.wrappedKey\.enc" must be 43 base64url/],
          [{ epoch: 1, keys: [{ ...readerKey, wrappedKey: { ...wrappedKey(), c: b64(49) } }] }, /"data\.keys\.0\.wrappedKey\.c" must be 64 base64url/],
          [{ epoch: 1, keys: [{ ...readerKey, wrappedKey: { v: 1, enc: b64(32) } }] }, /"data\.keys\.0\.wrappedKey" is missing "c"/],
          [{ epoch: 1, keys: [{ ...readerKey, wrappedBy: owner.user.id }] }, /unknown field "wrappedBy"/],
          [{ epoch: '1', keys: [readerKey] }, /"data\.epoch" must be integer/],
          [{ keys: [readerKey] }, /is missing "epoch"/],
          [{ epoch: 1, keys: [readerKey, readerKey] }, /one key per user/]
        ]
        for (const [data, message] of cases) {
          const error = await failure(keys.create(data as CollectionKeysAdd))
          expect(error.code, error.message).toBe(400)
          expect(error.message).toMatch(message)
        }
        for (const query of [{ epoch: 0 }, { userId: 'nobody' }, { other: 1 }, { $limit: -1 }]) {
          expect(await failure(keys.find({ query: query as never }))).toMatchObject({ code: 400 })
        }
        expect(await keys.find()).toEqual(before)
      })

      it('an invitation by user id carries keys; accepting adds the invitee\'s key rows (those still current); with an e-mail address keys are a 400', async () => {
        const { owner, collectionId } = await world()
        const invitee = await user(transport)
        await putKey(invitee.client, invitee.user.id)
        const invitations = owner.client.service('invitations')

        const byEmail = await failure(invitations.create({ collectionId, role: 'reader', email: newEmail(), keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrappedKey() }] }))
        expect(byEmail).toMatchObject({ code: 400 })
        expect(byEmail.message).toMatch(/"data\.keys" needs "userId"/)
        expect(await failure(invitations.create({ collectionId, role: 'reader', userId: invitee.user.id, keys: [{ epoch: 1, keyVersion: 1, wrappedKey: { ...wrappedKey(), enc: b64(16) } }] }))).toMatchObject({ code: 400 })
        expect(await failure(invitations.create({ collectionId, role: 'reader', userId: invitee.user.id, keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrappedKey() }, { epoch: 1, keyVersion: 1, wrappedKey: wrappedKey() }] }))).toMatchObject({ code: 400 })

        const carried = { epoch: 1, keyVersion: 1, wrappedKey: wrappedKey() }
        const invitation = await invitations.create({ collectionId, role: 'reader', userId: invitee.user.id, keys: [carried, { epoch: 7, keyVersion: 1, wrappedKey: wrappedKey() }] })
        expect(invitation.keyEpochs).toEqual([1, 7])
        expect(invitation).not.toHaveProperty('keys')
        expect(await invitee.client.service('invitations').get(invitation.id)).toMatchObject({ keyEpochs: [1, 7] })

        const accepted = await invitee.client.service('invitations').patch(invitation.id, { status: 'accepted' })
        expect(accepted).toMatchObject({ status: 'accepted', keyEpochs: [1, 7] })
        // Epoch 7 does not exist: that key was dropped.
        expect(await collectionKeysClient(invitee.client, collectionId).find()).toMatchObject({
          total: 1,
          data: [{ collectionId, epoch: 1, userId: invitee.user.id, keyVersion: 1, wrappedKey: carried.wrappedKey, wrappedBy: owner.user.id }]
        })
        expect((await keyEpochsClient(owner.client, collectionId).find())[0].missing).toEqual([])

        // Without keys, an invitation says so.
        const other = await user(transport)
        expect((await invitations.create({ collectionId, role: 'reader', userId: other.user.id })).keyEpochs).toEqual([])
      })

      it('a key carried by an invitation whose invitee replaced their public key since is dropped: they are `missing` then', async () => {
        const { owner, collectionId } = await world()
        const invitee = await user(transport)
        await putKey(invitee.client, invitee.user.id)
        const invitation = await owner.client.service('invitations').create({ collectionId, role: 'writer', userId: invitee.user.id, keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrappedKey() }] })
        await putKey(invitee.client, invitee.user.id, 1)
        await invitee.client.service('invitations').patch(invitation.id, { status: 'accepted' })
        expect((await collectionKeysClient(invitee.client, collectionId).find()).total).toBe(0)
        expect((await keyEpochsClient(owner.client, collectionId).find())[0].missing).toEqual([invitee.user.id])
      })

      it('a member who leaves or is removed loses their key rows with the membership', async () => {
        const { owner, writer, reader, collectionId } = await world()
        await membersClient(owner.client, collectionId).remove(reader.user.id)
        await membersClient(writer.client, collectionId).remove(writer.user.id)
        const left = await collectionKeysClient(owner.client, collectionId).find()
        expect(left.data.map((key) => key.userId)).toEqual([owner.user.id])
      })
    })
  }

  it('realtime: `collections keys` with type "keys" reaches every member when keys are added, not strangers, and not for a no-op', async () => {
    const owner = await user('socketio')
    const newcomer = await user('socketio')
    const stranger = await user('socketio')
    const { id: collectionId } = await owner.client.service('collections').create({})
    await putKey(owner.client, owner.user.id)
    await keyEpochsClient(owner.client, collectionId).create({ epoch: 1, keys: keysFor([{ userId: owner.user.id, keyVersion: 1 }]) })
    await membersClient(owner.client, collectionId).create({ userId: newcomer.user.id, role: 'reader' })
    await putKey(newcomer.client, newcomer.user.id)

    const heard: Record<string, KeysEvent[]> = { owner: [], newcomer: [], stranger: [] }
    for (const [name, who] of Object.entries({ owner, newcomer, stranger })) {
      who.client.service('collections').on('keys', (event: KeysEvent) => heard[name].push(event))
    }
    const add = () => collectionKeysClient(owner.client, collectionId).create({ epoch: 1, keys: keysFor([{ userId: newcomer.user.id, keyVersion: 1 }]) })
    await add()
    await eventually(() => heard.newcomer.length === 1 && heard.owner.length === 1, 'the members to hear the added key')
    expect(heard.newcomer).toEqual([{ collectionId, epoch: 1, type: 'keys' }])

    // Nothing new written: nothing announced.
    expect(await add()).toEqual([])
    await stranger.client.service('collections').create({})
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(heard.stranger).toEqual([])
    expect(heard.newcomer).toHaveLength(1)
  })
})
