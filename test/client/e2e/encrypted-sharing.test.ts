import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { KeyChangedError, memoryStore } from '../../../src/client/index.js'
import { createAccountKeys } from '../../../src/client/crypto/account-keys.js'
import { toBase64url } from '../../../src/client/crypto/base64url.js'
import { unwrapCollectionKey, wrapCollectionKey } from '../../../src/client/crypto/key-wrap.js'
import { decryptRecord, importKeyRaw } from '../../../src/client/crypto/record-envelope.js'
import { importRecoveryPhrase } from '../../../src/client/crypto/account-keys.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sqliteStore } from '../../../src/client/stores/sqlite.js'
import { describeBackends } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { Clients, newId, synced, until } from '../helpers.js'
import { acceptInvitation, rawServerData, readAll, userWithKeys, type KeyedUser } from './kit.js'

describeBackends('end-to-end encrypted sharing', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  /** Alice's encrypted collection with `count` records, synced. */
  async function encryptedCollection(owner: KeyedUser, count: number) {
    const collectionId = newId()
    const collection = owner.roost.collection(collectionId, { encrypted: true })
    for (let i = 0; i < count; i++) await collection.put(`r${i}`, { i, by: 'alice' })
    await synced(owner.roost)
    return collectionId
  }

  it('an invited member reads and writes; invited by e-mail, the owner’s client gives them the key once they accepted', async () => {
    const alice = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const carol = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 3)

    const invitation = await alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    expect(invitation.keyEpochs).toEqual([1])
    await acceptInvitation(bob, collectionId)
    expect(await readAll(bob.roost, collectionId)).toEqual({ r0: { i: 0, by: 'alice' }, r1: { i: 1, by: 'alice' }, r2: { i: 2, by: 'alice' } })
    await bob.roost.collection(collectionId).put('from-bob', { text: 'hi' })
    await synced(bob.roost)
    await until(async () => (await alice.roost.collection(collectionId).get('from-bob'))?.data !== undefined, 'Bob’s write at Alice')
    expect((await alice.roost.collection(collectionId).get('from-bob'))?.data).toEqual({ text: 'hi' })

    // By e-mail: no key travels with the invitation; Alice's client wraps it after Carol accepted.
    const byEmail = await alice.roost.sharing.invite(collectionId, { email: carol.email }, 'reader')
    expect(byEmail.keyEpochs).toEqual([])
    await acceptInvitation(carol, collectionId)
    await synced(alice.roost)
    await until(async () => (await readAll(carol.roost, collectionId))['from-bob'] !== undefined, 'Carol to read the collection', 20_000)
    expect(await carol.roost.tamperedRecords()).toEqual([])
  })

  it('removing a member rotates the key: they cannot decrypt what is written after, old records move to the new key', async () => {
    const alice = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 5)
    await alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    await acceptInvitation(bob, collectionId)
    expect(Object.keys(await readAll(bob.roost, collectionId))).toHaveLength(5)

    const { epoch, reencrypted } = await alice.roost.sharing.removeMember(collectionId, bob.userId)
    expect(epoch).toBe(2)
    expect(reencrypted).toBe(5)
    await alice.roost.collection(collectionId).put('after', { secret: 'written after Bob left' })
    await synced(alice.roost)
    const raw = await rawServerData(alice, collectionId)
    for (const data of Object.values(raw)) expect(data.e).toBe(2)

    // Bob kept what his device had: the epoch-1 key. It does not open anything written now.
    const kept = (await bob.roost.store.getMeta<Array<{ epoch: number; keyVersion: number; wrappedKey: unknown; wrappedBy: string }>>(`e2e:wrapped:${collectionId}`)) ?? []
    expect(kept.map((row) => [row.epoch, row.wrappedBy])).toEqual([[1, alice.userId]])
    const bobKeys = await importRecoveryPhrase(bob.recoveryPhrase)
    const aliceKeys = await importRecoveryPhrase(alice.recoveryPhrase)
    const me = { userId: bob.userId, keyVersion: kept[0].keyVersion, privateKey: bobKeys.privateKey, publicKey: bobKeys.publicKey }
    const epoch1 = await unwrapCollectionKey(kept[0].wrappedKey, me, { collectionId, epoch: 1 }, { userId: alice.userId, publicKey: aliceKeys.publicKey })
    await expect(decryptRecord(await importKeyRaw(epoch1), { collectionId, recordId: 'after' }, raw.after)).rejects.toThrow(/cannot be decrypted/)
    // And the server keeps no key for him.
    expect((await alice.api('GET', `collections/${collectionId}/keys?userId=${bob.userId}`)).body.total).toBe(0)
    // Alice, and her other devices, read everything.
    const phone = clients.create({ url: server.url, auth: alice, store: memoryStore() })
    await phone.account.importRecoveryPhrase(alice.recoveryPhrase)
    expect(Object.keys(await readAll(phone, collectionId)).sort()).toEqual(['after', 'r0', 'r1', 'r2', 'r3', 'r4'])
  })

  it('a rotation racing writes, and two managers rotating at once, leave every record readable to every member', async () => {
    const alice = await userWithKeys(server, clients)
    const dan = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const eve = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 10)
    for (const [user, role] of [[dan, 'admin'], [bob, 'writer'], [eve, 'reader']] as const) {
      await alice.roost.sharing.invite(collectionId, { userId: user.userId }, role)
      await acceptInvitation(user, collectionId)
    }
    for (const user of [dan, bob, eve]) expect(Object.keys(await readAll(user.roost, collectionId))).toHaveLength(10)

    // Bob writes 40 records while Alice removes Eve (a rotation) and Dan rotates too.
    const bobWrites = (async () => {
      const collection = bob.roost.collection(collectionId)
      for (let i = 0; i < 40; i++) {
        await collection.put(`bob-${i}`, { i })
        if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 15))
      }
      await synced(bob.roost, 30_000)
    })()
    const [removal, rotation] = await Promise.all([alice.roost.sharing.removeMember(collectionId, eve.userId), dan.roost.sharing.rotate(collectionId), bobWrites])
    expect(new Set([removal.epoch, rotation.epoch])).toEqual(new Set([2, 3]))

    const expected = [...Array.from({ length: 10 }, (_, i) => `r${i}`), ...Array.from({ length: 40 }, (_, i) => `bob-${i}`)].sort()
    for (const user of [alice, dan, bob]) {
      await until(async () => Object.keys(await readAll(user.roost, collectionId)).length === expected.length, `every record at ${user.email}`, 30_000)
      expect(Object.keys(await readAll(user.roost, collectionId)).sort()).toEqual(expected)
      expect(await user.roost.tamperedRecords()).toEqual([])
    }
    // Writes sealed under an epoch that was already replaced are re-encrypted by whoever reads them.
    await until(async () => Object.values(await rawServerData(alice, collectionId)).every((data) => data.e === 3), 'every record under the last epoch', 30_000)
    // A fresh device of Bob's, from nothing, reads it all too (every epoch's key reached him).
    const fresh = clients.create({ url: server.url, auth: bob, store: memoryStore() })
    await fresh.account.importRecoveryPhrase(bob.recoveryPhrase)
    expect(Object.keys(await readAll(fresh, collectionId)).sort()).toEqual(expected)
  })

  it('writes made offline before a re-encryption land on top of it: same plaintext, so no conflict (single, batched and group writes)', async () => {
    const alice = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 12)
    const folder = mkdtempSync(path.join(tmpdir(), 'roost-e2e-'))
    try {
      const file = path.join(folder, 'device.db')
      const first = clients.create({ url: server.url, auth: alice, store: sqliteStore(file) })
      await first.account.importRecoveryPhrase(alice.recoveryPhrase)
      expect(Object.keys(await readAll(first, collectionId))).toHaveLength(12)
      await first.close()

      // Meanwhile the key is rotated and every record re-encrypted: new versions, same plaintext.
      expect((await alice.roost.sharing.rotate(collectionId)).reencrypted).toBe(12)

      // The device comes back with writes it made offline, on the old versions.
      const device = clients.create({ url: server.url, auth: alice, store: sqliteStore(file), autoStart: false })
      const notes = device.collection(collectionId, { encrypted: true })
      const single = await notes.put('r0', { i: 0, by: 'device' })
      const many = []
      for (let i = 1; i <= 9; i++) many.push(await notes.put(`r${i}`, { i, by: 'device' }))
      const group = await device.transaction((scope) => {
        scope.put(collectionId, 'r10', { i: 10, by: 'device' })
        scope.put(collectionId, 'r11', { i: 11, by: 'device' })
      })
      await device.start()
      await synced(device, 20_000)
      for (const receipt of [single, ...many, ...group.writes]) expect((await device.awaitWrite(receipt.writeId)).status).toBe('applied')
      expect(device.status.get().conflicts).toBe(0)
      const server12 = await readAll(alice.roost, collectionId)
      for (let i = 0; i < 12; i++) expect(server12[`r${i}`]).toEqual({ i, by: 'device' })
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('a member who leaves on their own is followed by one rotation, made by a manager’s client', async () => {
    const alice = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 2)
    await alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    await acceptInvitation(bob, collectionId)
    expect(Object.keys(await readAll(bob.roost, collectionId))).toHaveLength(2)
    const epochs = async () => ((await alice.api('GET', `collections/${collectionId}/key-epochs`)).body as Array<{ epoch: number }>).map((e) => e.epoch)
    expect(await epochs()).toEqual([1])
    // Bob leaves (his own client cannot rotate: he is no longer a member); Alice's client, hearing it, rotates.
    const left = await bob.api('DELETE', `collections/${collectionId}/members/${bob.userId}`)
    expect(left.status).toBe(200)
    await until(async () => (await epochs()).length === 2, 'a rotation after Bob left', 15_000)
    await until(async () => Object.values(await rawServerData(alice, collectionId)).every((data) => data.e === 2), 'the records re-encrypted', 15_000)
    // One rotation, not one per client that heard of it.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(await epochs()).toEqual([1, 2])
  })

  it('a key epoch the server makes up (a key of its own, claimed to be wrapped by the owner) is refused: nothing is sealed under it', async () => {
    const alice = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 1)
    await alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    await acceptInvitation(bob, collectionId)
    expect(Object.keys(await readAll(bob.roost, collectionId))).toEqual(['r0'])

    // The operator, through the server's own storage: epoch 2 with a key it knows, wrapped for both members
    // with a key pair of its own, filed as if Alice had made it.
    const operator = await createAccountKeys()
    const key = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const keys = []
    for (const user of [alice, bob]) {
      const recipient = await importRecoveryPhrase(user.recoveryPhrase)
      const wrappedKey = await wrapCollectionKey(key, { userId: user.userId, keyVersion: 1, publicKey: recipient.publicKey }, { collectionId, epoch: 2 }, { userId: alice.userId, privateKey: operator.privateKey, publicKey: operator.publicKey })
      keys.push({ userId: user.userId, keyVersion: 1, wrappedKey: { ...wrappedKey } })
    }
    await server.storage.createKeyEpoch({ collectionId, epoch: 2, keys, actorId: alice.userId, at: new Date().toISOString() })

    // A device of Bob's that looks at the epochs now (a new one) sees epoch 2, and cannot open its key.
    const device = clients.create({ url: server.url, auth: bob, store: memoryStore() })
    await device.account.importRecoveryPhrase(bob.recoveryPhrase)
    await device.collection(collectionId, { encrypted: true }).put('bob', { secret: 'not for the operator' })
    await until(() => device.status.get().error?.name === 'KeyUnavailable', 'Bob’s device to refuse the made-up epoch')
    expect(device.status.get().pending).toBe(1)
    expect(await device.collection(collectionId).get('r0')).toMatchObject({ data: { i: 0, by: 'alice' } })
    const raw = await rawServerData(alice, collectionId)
    expect(raw.bob).toBeUndefined()
  })

  it('a changed public key is refused until the app confirms it; nothing is shared meanwhile', async () => {
    const alice = await userWithKeys(server, clients)
    const bob = await userWithKeys(server, clients)
    const collectionId = await encryptedCollection(alice, 1)
    // Alice's device learns Bob's key (trust on first use) through his fingerprint.
    const first = await alice.roost.account.fingerprint(bob.userId)
    expect(first).toBe(await bob.roost.account.fingerprint())
    // Then the server hands out another key for Bob (an operator slipping in their own, or Bob reset his).
    const other = await createAccountKeys()
    const replaced = await bob.api('PUT', `user-keys/${bob.userId}`, { publicKey: toBase64url(other.publicKey), baseKeyVersion: 1 })
    expect(replaced.status).toBe(200)
    const refused = alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    await expect(refused).rejects.toBeInstanceOf(KeyChangedError)
    await refused.catch((error: KeyChangedError) => expect(error.knownFingerprint).toBe(first))
    expect((await alice.api('GET', `invitations?collectionId=${collectionId}`)).body.total).toBe(0)
    // The app shows the new fingerprint, the people compare, the app confirms.
    await alice.roost.account.trustKey(bob.userId)
    const invitation = await alice.roost.sharing.invite(collectionId, { userId: bob.userId }, 'writer')
    expect(invitation.keyEpochs).toEqual([1])
  })
})
