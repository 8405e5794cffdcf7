import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { memoryStore } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { setRecordDataTextBehindTheServer } from '../../helpers/behind-the-server.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { Clients, newId, synced } from '../helpers.js'
import { rawServerData, readAll, userWithKeys } from './kit.js'

describeBackends('end-to-end encryption: tampering', (backend) => {
  let server: TestServer
  const clients = new Clients()
  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterEach(() => clients.closeAll())
  afterAll(async () => {
    await server?.close()
  })

  it('ciphertext moved to another record, bit-flipped, or replaced by plaintext in the database: reported, never shown', async () => {
    const alice = await userWithKeys(server, clients)
    const collectionId = newId()
    const notes = alice.roost.collection(collectionId, { encrypted: true })
    for (const id of ['keep', 'moved-from', 'moved-to', 'flipped', 'cleartext']) await notes.put(id, { id, text: `note ${id}` })
    await synced(alice.roost)
    const raw = await rawServerData(alice, collectionId)

    // The operator (or a thief with write access to the database) edits it directly.
    await setRecordDataTextBehindTheServer(server, collectionId, 'moved-to', JSON.stringify(raw['moved-from']))
    const flipped = { ...raw.flipped, c: flipBit(raw.flipped.c as string) }
    await setRecordDataTextBehindTheServer(server, collectionId, 'flipped', JSON.stringify(flipped))
    await setRecordDataTextBehindTheServer(server, collectionId, 'cleartext', JSON.stringify({ id: 'cleartext', text: 'planted by the server' }))

    const device = clients.create({ url: server.url, auth: alice, store: memoryStore() })
    await device.account.importRecoveryPhrase(alice.recoveryPhrase)
    const reported: string[] = []
    device.onTampered((record) => reported.push(record.id))
    const seen = await readAll(device, collectionId)
    expect(Object.keys(seen).sort()).toEqual(['keep', 'moved-from'])
    expect(seen['moved-from']).toEqual({ id: 'moved-from', text: 'note moved-from' })
    const tampered = (await device.tamperedRecords()).map((record) => [record.id, record.reason]).sort()
    expect(tampered).toEqual([
      ['cleartext', 'malformed-envelope'],
      ['flipped', 'authentication-failed'],
      ['moved-to', 'authentication-failed']
    ])
    expect(reported.sort()).toEqual(['cleartext', 'flipped', 'moved-to'])
  })
})

/** The base64url text with one bit of its first byte flipped (still canonical base64url). */
function flipBit(text: string): string {
  const bytes = Buffer.from(text, 'base64url')
  bytes[0] ^= 0x01
  return bytes.toString('base64url')
}
