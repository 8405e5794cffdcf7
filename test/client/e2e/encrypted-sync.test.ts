import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import {
  AccountKeysExistError,
  InvalidRecoveryPhraseError,
  memoryStore,
  WrongRecoveryPhraseError
} from '../../../src/client/index.js'
import { recoveryPhrase } from '../../../src/client/crypto/account-keys.js'
import { nodeAesGcm } from '../../../src/client/node.js'
import { WrongPassphraseError } from '../../../src/client/crypto/errors.js'
import { describeBackends } from '../../helpers/backends.js'
import { findInDatabase } from '../../helpers/database-scan.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { account, Clients, newId, synced } from '../helpers.js'
import { marker, rawServerData, readAll, userWithKeys } from './kit.js'

describeBackends('end-to-end encrypted sync', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  it('the database holds none of the plaintext; a second device with the recovery phrase reads everything', async () => {
    const alice = await userWithKeys(server, clients)
    const collectionId = newId()
    const notes = alice.roost.collection(collectionId, { encrypted: true })
    const secrets = Array.from({ length: 6 }, marker)
    // Single writes, a patch, a delete, a batch of many and a group: every path data takes to the server.
    await notes.put('a', { title: secrets[0], body: 'x'.repeat(200) })
    await notes.put('b', { title: secrets[1] })
    await notes.patch('b', { tag: secrets[2] })
    await notes.put('gone', { title: 'deleted soon' })
    await synced(alice.roost)
    await notes.delete('gone')
    for (let i = 0; i < 20; i++) await notes.put(`many-${i}`, { i, text: `${secrets[3]}-${i}` })
    await alice.roost.transaction((scope) => {
      scope.put(collectionId, 'g1', { text: secrets[4] })
      scope.put(collectionId, 'g2', { text: secrets[5] })
    })
    await synced(alice.roost)

    expect(await findInDatabase(server, secrets)).toEqual([])
    const raw = await rawServerData(alice, collectionId)
    expect(Object.keys(raw).sort()).toEqual(['a', 'b', 'g1', 'g2', ...Array.from({ length: 20 }, (_, i) => `many-${i}`)].sort())
    for (const data of Object.values(raw)) expect(Object.keys(data).sort()).toEqual(['c', 'e', 'n', 'v'])

    // Another device of Alice's: the phrase gives it everything; it did not even say the collection is encrypted.
    // (It uses node:crypto's AES-GCM, the first device WebCrypto's: the same bytes.)
    const phone = clients.create({ url: server.url, auth: alice, store: memoryStore(), aesGcm: nodeAesGcm })
    expect(await phone.account.status()).toBe('missing')
    await phone.account.importRecoveryPhrase(alice.recoveryPhrase)
    expect(await phone.account.status()).toBe('ready')
    const seen = await readAll(phone, collectionId)
    expect(seen.a).toEqual({ title: secrets[0], body: 'x'.repeat(200) })
    expect(seen.b).toEqual({ title: secrets[1], tag: secrets[2] })
    expect(seen.g2).toEqual({ text: secrets[5] })
    expect(seen['many-7']).toEqual({ i: 7, text: `${secrets[3]}-7` })
    expect(seen.gone).toBeUndefined()
    expect(await phone.tamperedRecords()).toEqual([])

    // It writes too, and the first device reads it.
    await phone.collection(collectionId).put('from-phone', { text: 'hello' })
    await synced(phone)
    await alice.roost.whenSynced()
    expect((await notes.get('from-phone'))?.data).toEqual({ text: 'hello' })
  })

  it('a passphrase unlocks another device; a wrong one is refused and changes nothing', async () => {
    const alice = await userWithKeys(server, clients)
    const collectionId = newId()
    await alice.roost.collection(collectionId, { encrypted: true }).put('n', { text: 'by passphrase' })
    await synced(alice.roost)
    await alice.roost.account.setPassphrase('correct horse battery staple')
    const stored = await alice.api('GET', `user-keys/${alice.userId}`)
    expect(JSON.stringify(stored.body)).not.toContain('correct horse')

    const laptop = clients.create({ url: server.url, auth: alice, store: memoryStore() })
    // What a page shows before unlocking: keys exist on the server, with a passphrase copy.
    expect(await laptop.account.onServer()).toEqual({ keyVersion: stored.body.keyVersion, passphrase: true })
    await alice.roost.account.setPassphrase(null)
    expect(await laptop.account.onServer()).toEqual({ keyVersion: stored.body.keyVersion, passphrase: false })
    await alice.roost.account.setPassphrase('correct horse battery staple')
    await expect(laptop.account.unlockWithPassphrase('wrong horse battery staple')).rejects.toBeInstanceOf(WrongPassphraseError)
    expect(await laptop.account.status()).toBe('missing')
    await laptop.account.unlockWithPassphrase('correct horse battery staple')
    expect((await readAll(laptop, collectionId)).n).toEqual({ text: 'by passphrase' })
  })

  it('onServer() is null for an account that never made keys', async () => {
    const bob = await account(server.url)
    const device = clients.create({ url: server.url, auth: bob, store: memoryStore() })
    expect(await device.account.onServer()).toBeNull()
    expect(await device.account.status()).toBe('missing')
  })

  it('a wrong or invalid recovery phrase is refused with a clear error and nothing is written', async () => {
    const alice = await userWithKeys(server, clients)
    const before = await alice.api('GET', `user-keys/${alice.userId}`)
    const device = clients.create({ url: server.url, auth: alice, store: memoryStore() })
    // Valid words and checksum, but another key.
    const other = recoveryPhrase(globalThis.crypto.getRandomValues(new Uint8Array(32)))
    await expect(device.account.importRecoveryPhrase(other)).rejects.toBeInstanceOf(WrongRecoveryPhraseError)
    await expect(device.account.importRecoveryPhrase('not a phrase at all')).rejects.toBeInstanceOf(InvalidRecoveryPhraseError)
    const words = alice.recoveryPhrase.split(' ')
    ;[words[0], words[1]] = [words[1], words[0]]
    if (words.join(' ') !== alice.recoveryPhrase) await expect(device.account.importRecoveryPhrase(words.join(' '))).rejects.toBeInstanceOf(InvalidRecoveryPhraseError)
    expect(await device.account.status()).toBe('missing')
    // Creating keys again would replace the account's: refused.
    await expect(device.account.create()).rejects.toBeInstanceOf(AccountKeysExistError)
    expect((await alice.api('GET', `user-keys/${alice.userId}`)).body).toEqual(before.body)
  })

  it('creating the account keys is safe to retry: an answer lost after the server stored the key gives the same key again', async () => {
    const user = await account(server.url)
    let dropped = 0
    // The first PUT of the public key reaches the server, and its answer is lost on the way back.
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (init?.method === 'PUT' && String(input).includes('/user-keys/') && dropped++ === 0) throw new TypeError('network lost')
      return response
    }
    const device = clients.create({ url: server.url, auth: user, store: memoryStore(), fetch: lossy })
    await expect(device.account.create()).rejects.toThrow()
    expect(await device.account.status()).toBe('missing')
    const { recoveryPhrase: phrase } = await device.account.create()
    expect(await device.account.status()).toBe('ready')
    const other = clients.create({ url: server.url, auth: user, store: memoryStore() })
    await other.account.importRecoveryPhrase(phrase)
    expect(await other.account.fingerprint()).toBe(await device.account.fingerprint())
  })

  it('without account keys an encrypted collection sends nothing in the clear: it waits and says why', async () => {
    const alice = await userWithKeys(server, clients)
    const device = clients.create({ url: server.url, auth: alice, store: memoryStore() })
    const collectionId = newId()
    const secret = marker()
    await device.collection(collectionId, { encrypted: true }).put('n', { secret })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(device.status.get().pending).toBe(1)
    expect(device.status.get().error?.name).toBe('AccountKeysMissing')
    expect(await findInDatabase(server, [secret])).toEqual([])
    await device.account.importRecoveryPhrase(alice.recoveryPhrase)
    await synced(device)
    expect(await findInDatabase(server, [secret])).toEqual([])
    expect((await readAll(alice.roost, collectionId)).n).toEqual({ secret })
  })
})
