import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/client/index.js'
import type { SyncStatus } from '../../../src/client/types.js'
import { describeBackends } from '../../helpers/backends.js'
import { browserSkipReason, callPage } from '../../helpers/browser.js'
import { account, Clients, newId, until as untilWithin } from '../helpers.js'
import { TestProxy } from '../proxy.js'
import { clientPageRig, isMissingCollectionNoise, isNetworkNoise, socketCount, type ClientPageRig } from './harness.js'

/** Chromium on a busy CI machine is slow to start things: more room than the helper's default, still far below the page's one-minute poll. */
const until = (predicate: () => boolean | Promise<boolean>, what: string) => untilWithin(predicate, what, 20_000)

type Seen = Array<{ id: string; data: unknown; pending: boolean }>

/** The whole client (IndexedDB store, REST, socket.io) in Chromium, against a real server on another origin. */
describeBackends('client in Chromium', (backend) => {
  describe.skipIf(browserSkipReason())('one tab', () => {
    let rig: ClientPageRig
    const clients = new Clients()
    let proxy: TestProxy | undefined
    /** Set by a test that takes the network away: Chromium's own logging of the failed requests is expected then. */
    let offline = false

    beforeAll(async () => {
      rig = await clientPageRig(backend)
    })
    afterEach(async () => {
      await rig.closeTabs()
      await clients.closeAll()
      await proxy?.close()
      proxy = undefined
      const errors = rig.browser.errors.splice(0).filter((line) => !isMissingCollectionNoise(line))
      expect(offline ? errors.filter((line) => !isNetworkNoise(line)) : errors).toEqual([])
      offline = false
    })
    afterAll(async () => {
      await rig?.close()
    })

    it('syncs IndexedDB writes to the server, and hears a write from elsewhere over socket.io without a reload', async () => {
      const user = await account(rig.server.url)
      const collectionId = newId()
      const tab = await rig.openTab()
      await callPage(tab, 'openClient', { url: rig.server.url, email: user.email, password: user.password, storeName: newId('app'), collectionIds: [collectionId] })
      await callPage(tab, 'put', collectionId, 'rex', { name: 'Rex' })
      await callPage(tab, 'put', collectionId, 'tom', { name: 'Tom' })
      await callPage(tab, 'whenSynced')
      expect(await callPage(tab, 'list', collectionId)).toEqual([
        { id: 'rex', data: { name: 'Rex' }, pending: false },
        { id: 'tom', data: { name: 'Tom' }, pending: false }
      ])

      const node = clients.create({ url: rig.server.url, auth: user, store: memoryStore(), realtime: false })
      const notes = node.collection(collectionId)
      await node.whenSynced()
      expect((await notes.list()).map((r) => [r.id, r.data, r.serverVersion])).toEqual([
        ['rex', { name: 'Rex' }, 1],
        ['tom', { name: 'Tom' }, 1]
      ])

      // The page polls only every minute: within the wait below, only a socket.io event can bring the change.
      await until(async () => (await callPage<SyncStatus>(tab, 'syncStatus')).connected && socketCount(rig.server) === 1, 'the page to connect its socket')
      await notes.put('kit', { name: 'Kit' })
      await node.whenSynced()
      await until(async () => ((await callPage<Seen | null>(tab, 'watched', collectionId)) ?? []).some((r) => r.id === 'kit'), 'the page to see kit')
      // By now the page has subscribed (kit came by an event or by the pull right after subscribing): the next one can only come by an event.
      await notes.patch('rex', { age: 3 })
      await node.whenSynced()
      await until(
        async () => ((await callPage<Seen | null>(tab, 'watched', collectionId)) ?? []).some((r) => r.id === 'rex' && (r.data as { age?: number }).age === 3),
        'the page to see the patch of rex'
      )
      expect(await callPage(tab, 'watched', collectionId)).toEqual([
        { id: 'kit', data: { name: 'Kit' }, pending: false },
        { id: 'rex', data: { name: 'Rex', age: 3 }, pending: false },
        { id: 'tom', data: { name: 'Tom' }, pending: false }
      ])
    })

    it('keeps writes made offline across a reload, and the new page pushes each of them exactly once', async () => {
      offline = true
      const user = await account(rig.server.url)
      const collectionId = newId()
      const storeName = newId('app')
      proxy = await new TestProxy(rig.server.url).start()
      const tab = await rig.openTab()
      const open = () => callPage(tab, 'openClient', { url: proxy!.url, email: user.email, password: user.password, storeName, collectionIds: [collectionId] })
      await open()
      await callPage(tab, 'put', collectionId, 'old', { v: 1 })
      await callPage(tab, 'whenSynced')

      // A write whose answer is lost after the server committed it: the page does not know it landed.
      proxy.cutAnswersFromNowOn()
      await callPage(tab, 'put', collectionId, 'lost', { v: 1 })
      const node = clients.create({ url: rig.server.url, auth: user, store: memoryStore(), realtime: false })
      const notes = node.collection(collectionId)
      await until(async () => {
        await node.whenSynced()
        return (await notes.get('lost')) !== undefined
      }, 'the server to have the write whose answer is lost')
      // Then offline, and more writes.
      proxy.down()
      await callPage(tab, 'put', collectionId, 'a1', { n: 1 })
      await callPage(tab, 'put', collectionId, 'a2', { n: 2 })
      await callPage(tab, 'patch', collectionId, 'old', { v: 2 })
      await callPage(tab, 'put', collectionId, 'a3', { n: 3 })

      await rig.browser.reloadPage(tab)
      await open()
      expect(await callPage(tab, 'list', collectionId)).toEqual([
        { id: 'a1', data: { n: 1 }, pending: true },
        { id: 'a2', data: { n: 2 }, pending: true },
        { id: 'a3', data: { n: 3 }, pending: true },
        { id: 'lost', data: { v: 1 }, pending: true },
        { id: 'old', data: { v: 2 }, pending: true }
      ])
      await until(async () => (await callPage<SyncStatus>(tab, 'syncStatus')).pending === 5, 'the reloaded page to count 5 pending writes')

      proxy.up()
      await callPage(tab, 'whenSynced')
      expect(await callPage(tab, 'outbox')).toEqual([])
      expect((await callPage<Seen>(tab, 'list', collectionId)).filter((r) => r.pending)).toEqual([])
      await node.whenSynced()
      // Each write once: a record put once is at version 1, `old` (put, then patched) at 2.
      expect((await notes.list()).map((r) => [r.id, r.data, r.serverVersion])).toEqual([
        ['a1', { n: 1 }, 1],
        ['a2', { n: 2 }, 1],
        ['a3', { n: 3 }, 1],
        ['lost', { v: 1 }, 1],
        ['old', { v: 2 }, 2]
      ])
    })
  })

  describe.skipIf(browserSkipReason())('two tabs on one store', () => {
    let rig: ClientPageRig
    const clients = new Clients()
    let proxy: TestProxy | undefined

    beforeAll(async () => {
      rig = await clientPageRig(backend)
    })
    afterEach(async () => {
      await rig.closeTabs()
      await clients.closeAll()
      const offline = proxy !== undefined
      await proxy?.close()
      proxy = undefined
      const errors = rig.browser.errors.splice(0).filter((line) => !isMissingCollectionNoise(line))
      expect(offline ? errors.filter((line) => !isNetworkNoise(line)) : errors).toEqual([])
    })
    afterAll(async () => {
      await rig?.close()
    })

    const seen = async (tab: Page, collectionId: string, id: string) =>
      ((await callPage<Seen | null>(tab, 'watched', collectionId)) ?? []).some((r) => r.id === id && !r.pending)

    const twoTabs = async (url = rig.server.url) => {
      const user = await account(rig.server.url)
      const collectionId = newId()
      const options = { url, email: user.email, password: user.password, storeName: newId('app'), collectionIds: [collectionId] }
      const first = await rig.openTab()
      await callPage(first, 'openClient', options)
      await until(() => callPage<boolean>(first, 'isLeader'), 'the first tab to lead')
      await callPage(first, 'whenSynced')
      const second = await rig.openTab()
      await callPage(second, 'openClient', options)
      const node = clients.create({ url: rig.server.url, auth: user, store: memoryStore(), realtime: false })
      return { user, collectionId, first, second, node, notes: node.collection(collectionId) }
    }

    it('one tab syncs; a follower’s write is pushed by the leader and seen in both; a server change shows in both', async () => {
      const { collectionId, first, second, node, notes } = await twoTabs()
      expect(await callPage(second, 'isLeader')).toBe(false)
      await until(() => socketCount(rig.server) === 1, 'the leader’s socket')
      // A tab that just opened shows the leader's connection, not a disconnected client of its own.
      await until(async () => (await callPage<SyncStatus>(second, 'syncStatus')).connected, 'the follower’s status to show the leader connected')

      const writeId = await callPage<string>(second, 'put', collectionId, 'fromB', { by: 'B' })
      expect(await callPage(second, 'awaitWrite', writeId)).toMatchObject({ status: 'applied', recordId: 'fromB' })
      await callPage(second, 'whenSynced')
      await until(() => seen(second, collectionId, 'fromB'), 'the follower to see its write synced')
      await until(() => seen(first, collectionId, 'fromB'), 'the leader to see the follower’s write')
      await node.whenSynced()
      expect((await notes.get('fromB'))?.data).toEqual({ by: 'B' })

      // The follower's status is the leader's: connected, nothing pending.
      await until(async () => {
        const status = await callPage<SyncStatus>(second, 'syncStatus')
        return status.connected && status.pending === 0 && status.firstSyncDone
      }, 'the follower’s status to show the sync')

      await notes.put('fromNode', { by: 'node' })
      await node.whenSynced()
      await until(() => seen(first, collectionId, 'fromNode'), 'the leader to see the server’s change')
      await until(() => seen(second, collectionId, 'fromNode'), 'the follower to see the server’s change')
      // Still one tab syncing.
      expect([await callPage(first, 'isLeader'), await callPage(second, 'isLeader')]).toEqual([true, false])
      expect(socketCount(rig.server)).toBe(1)
    })

    it('a collection only the follower opens is pulled and heard by the leader for it', async () => {
      const { first, second, node } = await twoTabs()
      const otherId = newId()
      const other = node.collection(otherId)
      await other.put('early', { n: 1 })
      await node.whenSynced()
      await callPage(second, 'watchCollection', otherId)
      // Pulled by the leader (the follower has no loop of its own), long before its next poll.
      await until(() => seen(second, otherId, 'early'), 'the follower to see the collection’s records')
      await callPage(second, 'whenSynced')
      // Subscribed by the leader too: a later change comes by an event (the leader never opened this collection).
      await other.put('late', { n: 2 })
      await node.whenSynced()
      await until(() => seen(second, otherId, 'late'), 'the follower to hear a later change')
      expect([await callPage(first, 'isLeader'), await callPage(second, 'isLeader')]).toEqual([true, false])
    })

    it('a follower hears the server changes and collection events the leader applies; pages from IndexedDB; forgetting a collection there stops the leader syncing it', async () => {
      const { user, collectionId, first, second, node, notes } = await twoTabs()
      type Heard = { changes: Array<{ collectionId: string; id: string; version: number; deleted: boolean; seq: number; updatedBy: string | null }>; events: Array<{ type: string; collectionId: string }> }
      const heard = () => callPage<Heard>(second, 'heard')
      await callPage(second, 'listenEvents')
      await callPage(first, 'listenEvents')
      await until(() => callPage<boolean>(first, 'isLeader'), 'the first tab to lead')
      await until(async () => (await callPage<SyncStatus>(first, 'syncStatus')).live, 'the leader’s socket to subscribe')

      await notes.put('a', { text: 'héllo' })
      await notes.put('b', { n: 2 })
      await node.whenSynced()
      await until(async () => (await heard()).changes.length >= 2, 'the follower to hear both changes')
      expect((await heard()).changes.map((change) => [change.collectionId, change.id, change.version, change.deleted, change.updatedBy]).sort()).toEqual([
        [collectionId, 'a', 1, false, user.userId],
        [collectionId, 'b', 1, false, user.userId]
      ])

      const lock = await notes.lock({ ttlSeconds: 30 })
      await lock.release()
      await until(async () => (await heard()).events.filter((event) => event.type === 'lock').length >= 2, 'the follower to hear the lock taken and released')
      expect((await heard()).events.every((event) => event.collectionId === collectionId)).toBe(true)

      await callPage(second, 'whenSynced')
      expect(await callPage(second, 'page', collectionId, { offset: 1, limit: 5 })).toEqual({
        records: [{ id: 'b', data: { n: 2 }, deleted: false, size: JSON.stringify({ n: 2 }).length }],
        matching: 2,
        total: 2
      })
      expect(await callPage(second, 'page', collectionId, { offset: 0, limit: 5, idPrefix: 'a' })).toMatchObject({ records: [{ id: 'a', size: 17 }], matching: 1 })

      // Forgotten in the follower: gone from the shared store, and the leader no longer pulls it.
      await callPage(second, 'forget', collectionId, false)
      expect(await callPage(first, 'storedIds', collectionId)).toEqual([])
      await notes.put('c', { n: 3 })
      await node.whenSynced()
      await callPage(first, 'whenSynced')
      await new Promise((resolve) => setTimeout(resolve, 500))
      await callPage(first, 'whenSynced')
      expect(await callPage(first, 'storedIds', collectionId)).toEqual([])
      // The leader heard the changes it applied before, none since.
      expect((await callPage<Heard>(first, 'heard')).changes.map((change) => change.id).sort()).toEqual(['a', 'b'])
    })

    it('closing the leader tab hands over: the other tab leads and pushes what was written before and after', async () => {
      const { collectionId, first, second, node, notes } = await twoTabs()
      await callPage(second, 'put', collectionId, 'beforeClose', { n: 1 })
      await first.close()
      await until(() => callPage<boolean>(second, 'isLeader'), 'the second tab to lead')
      await callPage(second, 'put', collectionId, 'afterClose', { n: 2 })
      await callPage(second, 'whenSynced')
      await node.whenSynced()
      expect((await notes.list()).map((r) => [r.id, r.data, r.serverVersion])).toEqual([
        ['afterClose', { n: 2 }, 1],
        ['beforeClose', { n: 1 }, 1]
      ])
      // The new leader listens too.
      await until(() => socketCount(rig.server) === 1, 'one socket, the new leader’s')
      await notes.put('fromNode', { by: 'node' })
      await until(() => seen(second, collectionId, 'fromNode'), 'the new leader to hear the server')
    })

    it('closing the leader tab while writes wait for the network loses none: the new leader pushes each once', async () => {
      proxy = await new TestProxy(rig.server.url).start()
      const { collectionId, first, second, node, notes } = await twoTabs(proxy.url)
      // The leader's push of this one reaches the server, its answer does not: the new leader must not apply it twice.
      proxy.cutAnswersFromNowOn()
      await callPage(first, 'put', collectionId, 'answerLost', { n: 0 })
      await until(async () => {
        await node.whenSynced()
        return (await notes.get('answerLost')) !== undefined
      }, 'the server to have the write whose answer is lost')
      proxy.down()
      await callPage(first, 'put', collectionId, 'byLeader', { n: 1 })
      await callPage(second, 'put', collectionId, 'byFollower', { n: 2 })
      // The leader has tried (and failed) to push them: its attempts are in the shared store.
      await until(async () => (await callPage<SyncStatus>(first, 'syncStatus')).error?.code === 0, 'the leader to fail to reach the server')
      await first.close()
      await until(() => callPage<boolean>(second, 'isLeader'), 'the second tab to lead')
      await callPage(second, 'put', collectionId, 'afterClose', { n: 3 })
      proxy.up()
      await callPage(second, 'whenSynced')
      expect(await callPage(second, 'outbox')).toEqual([])
      await node.whenSynced()
      expect((await notes.list()).map((r) => [r.id, r.data, r.serverVersion])).toEqual([
        ['afterClose', { n: 3 }, 1],
        ['answerLost', { n: 0 }, 1],
        ['byFollower', { n: 2 }, 1],
        ['byLeader', { n: 1 }, 1]
      ])
    })
  })
})
