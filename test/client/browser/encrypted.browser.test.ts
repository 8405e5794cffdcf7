/**
 * End-to-end encryption with the whole client in Chromium (IndexedDB store)
 * against a real server: what the page writes reaches the server only as
 * envelopes; after a reload the page still holds the account's keys (from
 * IndexedDB, no phrase given again), decrypts what another device wrote
 * meanwhile and encrypts new writes that the other device reads.
 * (The QR code's decoding is tested in test/client/crypto/.)
 */
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/client/index.js'
import { describeBackends } from '../../helpers/backends.js'
import { browserSkipReason, callPage } from '../../helpers/browser.js'
import { findInDatabase } from '../../helpers/database-scan.js'
import { account, Clients, newId, session, synced, until, within, type Api } from '../helpers.js'
import { marker, readAll } from '../e2e/kit.js'
import { clientPageRig, isMissingCollectionNoise, type ClientPageRig } from './harness.js'

type Seen = Array<{ id: string; data: unknown; pending: boolean }>

/** whenSynced in the page, bounded: a write that never goes out fails the test with its status rather than hanging it. */
const pageSynced = (tab: Page, what: string) =>
  within(callPage(tab, 'whenSynced'), what, 15_000).catch(async (error: unknown) => {
    throw new Error(`${String(error)}; the page's status: ${JSON.stringify(await callPage(tab, 'syncStatus'))}`)
  })

/** The record data the server hands out, as { id: data }, read with the test's own session. */
async function serverData(api: Api, collectionId: string): Promise<Record<string, unknown>> {
  const { status, body } = await api('GET', `collections/${collectionId}/records?$limit=100`)
  if (status !== 200) throw new Error(`find failed: ${status} ${JSON.stringify(body)}`)
  return Object.fromEntries((body.data as Array<{ id: string; data: unknown }>).map((record) => [record.id, record.data]))
}

const envelopeFields = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).map(([id, value]) => [id, Object.keys(value as object).sort()]))

describeBackends('encrypted collection in Chromium', (backend) => {
  describe.skipIf(browserSkipReason())('whole client, IndexedDB store', () => {
    let rig: ClientPageRig
    const clients = new Clients()

    beforeAll(async () => {
      rig = await clientPageRig(backend)
    })
    afterEach(async () => {
      await rig.closeTabs()
      await clients.closeAll()
      expect(rig.browser.errors.splice(0).filter((line) => !isMissingCollectionNoise(line))).toEqual([])
    })
    afterAll(async () => {
      await rig?.close()
    })

    it('the server holds only envelopes; after a reload the keys come back from IndexedDB and both directions decrypt', async () => {
      const user = await account(rig.server.url)
      const api = await session(rig.server.url, user)
      const collectionId = newId()
      const options = { url: rig.server.url, email: user.email, password: user.password, storeName: newId('app'), collectionIds: [collectionId], encrypted: true }
      const [inTitle, inList, inNested, fromNode, afterReload] = Array.from({ length: 5 }, marker)

      const tab = await rig.openTab()
      await callPage(tab, 'openClient', options)
      expect(await callPage(tab, 'accountStatus')).toBe('missing')
      const phrase = await callPage<string>(tab, 'createAccount')
      expect(phrase.split(' ')).toHaveLength(24)
      const svg = await callPage<string>(tab, 'recoveryQrSvg')
      expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/)
      const drawn = await callPage<{ root: string; parseError: boolean; width: number; height: number }>(tab, 'renderSvg', svg)
      expect(drawn).toMatchObject({ root: 'svg', parseError: false })
      expect(drawn.width).toBeGreaterThan(0)
      expect(drawn.height).toBe(drawn.width)

      await callPage(tab, 'put', collectionId, 'a', { title: inTitle })
      await callPage(tab, 'put', collectionId, 'b', { tags: ['x', inList] })
      await callPage(tab, 'put', collectionId, 'c', { deep: { note: inNested }, n: 3 })
      await callPage(tab, 'patch', collectionId, 'a', { done: true })
      await callPage(tab, 'whenSynced')

      // What the server stores and serves: envelopes only, and no marker anywhere in its database.
      expect(envelopeFields(await serverData(api, collectionId))).toEqual({ a: ['c', 'e', 'n', 'v'], b: ['c', 'e', 'n', 'v'], c: ['c', 'e', 'n', 'v'] })
      expect(await findInDatabase(rig.server, [inTitle, inList, inNested])).toEqual([])

      // The page goes away; meanwhile another device of the user's (Node, keys from the phrase) writes.
      await callPage(tab, 'closeClient')
      const node = clients.create({ url: rig.server.url, auth: user, store: memoryStore(), realtime: false })
      await node.account.importRecoveryPhrase(phrase)
      const notes = node.collection(collectionId, { encrypted: true })
      await notes.put('from-node', { text: fromNode })
      await synced(node)
      expect((await notes.get('a'))?.data).toEqual({ title: inTitle, done: true })

      // A new document on the same IndexedDB store, and no phrase given: the account's keys are the ones kept there.
      await rig.browser.reloadPage(tab)
      await callPage(tab, 'openClient', options)
      expect(await callPage(tab, 'accountStatus')).toBe('ready')
      expect(await callPage(tab, 'recoveryPhrase')).toBe(phrase)
      await callPage(tab, 'whenSynced')
      // from-node was never on this page: pulled as an envelope and decrypted here with the kept keys.
      expect(await callPage<Seen>(tab, 'list', collectionId)).toEqual([
        { id: 'a', data: { title: inTitle, done: true }, pending: false },
        { id: 'b', data: { tags: ['x', inList] }, pending: false },
        { id: 'c', data: { deep: { note: inNested }, n: 3 }, pending: false },
        { id: 'from-node', data: { text: fromNode }, pending: false }
      ])
      expect(await callPage(tab, 'tamperedRecords')).toEqual([])

      // And the other way: the reloaded page encrypts, the Node device decrypts.
      await callPage(tab, 'put', collectionId, 'after-reload', { text: afterReload })
      await callPage(tab, 'whenSynced')
      // The Node device polls (every 500 ms here).
      await until(async () => (await notes.get('after-reload')) !== undefined, 'the Node device to pull the write made after the reload', 15_000)
      expect((await notes.get('after-reload'))?.data).toEqual({ text: afterReload })
      expect(await node.tamperedRecords()).toEqual([])

      expect(envelopeFields(await serverData(api, collectionId))).toEqual(
        Object.fromEntries(['a', 'b', 'c', 'from-node', 'after-reload'].map((id) => [id, ['c', 'e', 'n', 'v']]))
      )
      expect(await findInDatabase(rig.server, [inTitle, inList, inNested, fromNode, afterReload])).toEqual([])
    })

    it('two tabs on one store: the leader tab pushes, encrypted, what the other tab wrote after making the keys and opening a collection', async () => {
      const user = await account(rig.server.url)
      const api = await session(rig.server.url, user)
      const collectionId = newId()
      const onlyFollower = newId()
      const options = { url: rig.server.url, email: user.email, password: user.password, storeName: newId('app'), collectionIds: [collectionId], encrypted: true }
      const [byLeader, byFollower, inFollowerOnly] = Array.from({ length: 3 }, marker)
      const leader = await rig.openTab()
      await callPage(leader, 'openClient', options)
      await until(() => callPage<boolean>(leader, 'isLeader'), 'the first tab to lead', 20_000)
      const follower = await rig.openTab()
      await callPage(follower, 'openClient', options)
      // What an app does on start in every tab: ask whether this device has keys.
      expect([await callPage(leader, 'accountStatus'), await callPage(follower, 'accountStatus')]).toEqual(['missing', 'missing'])

      // The keys are made in the tab that does not sync; the one that does must use them.
      const phrase = await callPage<string>(follower, 'createAccount')
      expect(await callPage(leader, 'accountStatus')).toBe('ready')
      await callPage(follower, 'put', collectionId, 'f', { text: byFollower })
      await callPage(leader, 'put', collectionId, 'l', { text: byLeader })
      // A collection only the follower opens, as encrypted, and writes to at once: the leader pushes its
      // writes, and must know it is encrypted; and, when the write reaches the leader before the collection
      // list does (its push then meets a 404), create the collection first rather than stop syncing.
      await callPage(follower, 'watchCollection', onlyFollower, true)
      await callPage(follower, 'put', onlyFollower, 'o', { text: inFollowerOnly })
      await pageSynced(follower, 'the follower’s writes to be pushed by the leader')
      await pageSynced(leader, 'the leader’s writes to be pushed')

      expect(envelopeFields(await serverData(api, collectionId))).toEqual({ f: ['c', 'e', 'n', 'v'], l: ['c', 'e', 'n', 'v'] })
      expect(envelopeFields(await serverData(api, onlyFollower))).toEqual({ o: ['c', 'e', 'n', 'v'] })
      expect(await findInDatabase(rig.server, [byLeader, byFollower, inFollowerOnly])).toEqual([])
      const node = clients.create({ url: rig.server.url, auth: user, store: memoryStore(), realtime: false })
      await node.account.importRecoveryPhrase(phrase)
      expect(await readAll(node, collectionId)).toEqual({ f: { text: byFollower }, l: { text: byLeader } })
      expect(await readAll(node, onlyFollower)).toEqual({ o: { text: inFollowerOnly } })
    })
  })
})
