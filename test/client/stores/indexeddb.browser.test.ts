import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { LocalRecord, OutboxEntry } from '../../../src/client/types.js'
import type { StoreChange } from '../../../src/client/stores/types.js'
import { SCHEMA_VERSION } from '../../../src/client/stores/indexeddb.js'
import type { RecordPage } from '../../../src/client/stores/types.js'
import { storeChecks } from './store-checks.js'
import { browserSkipReason, bundle, callPage, launchBrowser, servePage, type PageServer, type PageValue, type TestBrowser } from '../../helpers/browser.js'

const entry = fileURLToPath(new URL('./indexeddb.page.ts', import.meta.url))

let databases = 0
/** A database name no other test uses (the profile is shared by the whole file). */
const freshDb = () => `roost-test-${++databases}`

const record = (collectionId: string, id: string, version: number, syncedVersion: number, data: PageValue = { id }): LocalRecord =>
  ({ collectionId, id, data, deleted: false, version, syncedVersion, base: null }) as LocalRecord

const outboxEntry = (id: string, order: number, recordId: string): OutboxEntry => ({
  id,
  order,
  collectionId: 'notes',
  recordId,
  op: 'put',
  data: { id: recordId },
  localVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  state: 'pending'
})

const asArg = (changes: StoreChange[]) => changes as unknown as PageValue

interface Dump {
  records: Record<string, LocalRecord[]>
  pending: LocalRecord[]
  outbox: OutboxEntry[]
  meta: Array<[string, unknown]>
}

type Result = { ok: true } | { ok: false; name: string; message: string }

describe.skipIf(browserSkipReason())('IndexedDB store in Chromium', () => {
  let browser: TestBrowser
  let server: PageServer
  const pages: Page[] = []

  const open = async () => {
    const page = await browser.openPage(server.url)
    pages.push(page)
    return page
  }

  beforeAll(async () => {
    server = await servePage(await bundle(entry))
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close()
    // Nothing may have gone wrong in a page unnoticed.
    expect(browser.errors.splice(0)).toEqual([])
  })

  describe('store checks (test/client/stores/store-checks.ts)', () => {
    let page: Page
    beforeAll(async () => {
      page = await browser.openPage(server.url)
    })
    afterAll(async () => {
      await page?.close()
    })
    for (const check of storeChecks) {
      // Each check gets a database of its own in the page: a fresh, empty storage.
      it(check.name, async () => {
        await callPage(page, 'runCheck', check.name, freshDb())
      })
    }
  })

  it('keeps records, the outbox and meta across a page reload', async () => {
    const db = freshDb()
    const page = await open()
    const changes: StoreChange[] = [
      { type: 'putRecord', record: record('notes', 'b', 2, 1, { text: 'pending' }) },
      { type: 'putRecord', record: record('notes', 'a', 1, 1) },
      { type: 'putOutbox', entry: outboxEntry('w1', 1, 'b') },
      { type: 'putMeta', key: 'cursor:notes', value: { cursor: 'c1', last: 4 } }
    ]
    await callPage(page, 'write', db, asArg(changes))
    const before = await callPage<Dump>(page, 'dump', db, ['notes'])
    await browser.reloadPage(page)
    const after = await callPage<Dump>(page, 'dump', db, ['notes'])
    expect(after).toEqual(before)
    expect(after.records.notes!.map((r) => r.id)).toEqual(['a', 'b'])
    expect(after.pending.map((r) => r.id)).toEqual(['b'])
    expect(after.outbox.map((e) => e.id)).toEqual(['w1'])
    expect(after.meta).toEqual([['cursor:notes', { cursor: 'c1', last: 4 }]])
  })

  it('shares one database between two tabs: a write in one is read in the other', async () => {
    const db = freshDb()
    const [tabA, tabB] = [await open(), await open()]
    await callPage(tabA, 'write', db, asArg([{ type: 'putRecord', record: record('notes', 'n1', 1, 0) }]))
    expect((await callPage<Dump>(tabB, 'dump', db, ['notes'])).records.notes!.map((r) => r.id)).toEqual(['n1'])
    await callPage(tabB, 'write', db, asArg([{ type: 'deleteRecord', collectionId: 'notes', id: 'n1' }, { type: 'putMeta', key: 'from', value: 'B' }]))
    const seenByA = await callPage<Dump>(tabA, 'dump', db, ['notes'])
    expect(seenByA.records.notes).toEqual([])
    expect(seenByA.meta).toEqual([['from', 'B']])
  })

  it('runExclusive excludes across tabs: tab B waits for the Web Lock tab A holds', async () => {
    const db = freshDb()
    const [tabA, tabB] = [await open(), await open()]
    await callPage(tabA, 'holdLock', db, 'A')
    const waiting = callPage(tabB, 'lockedAppend', db, 'B')
    // B's request is queued on the lock (seen through navigator.locks.query, not by timing) ...
    await tabA.waitForFunction(
      async (name) => ((await navigator.locks.query()).pending ?? []).some((request) => request.name === name),
      `roost-store:${db}`
    )
    // ... and has not run while A holds the lock.
    expect(await callPage(tabA, 'getMeta', db, 'log')).toEqual(['A:start'])
    await callPage(tabA, 'releaseLock')
    await waiting
    expect(await callPage(tabB, 'getMeta', db, 'log')).toEqual(['A:start', 'A:end', 'B'])
  })

  it('surfaces a quota error as a rejection and rolls the whole write back', async () => {
    // An origin of its own (another port): Chromium keeps an origin's quota in its storage backend while the origin is in use.
    const quotaServer = await servePage(await bundle(entry))
    const page = await browser.context.newPage()
    pages.push(page)
    const cdp = await browser.context.newCDPSession(page)
    const origin = new URL(quotaServer.url).origin
    try {
      // A real quota, made small for this origin before its first use: the browser itself refuses the write.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 })
      await page.goto(quotaServer.url)
      await browser.reloadPage(page)
      const db = freshDb()
      await callPage(page, 'write', db, asArg([{ type: 'putMeta', key: 'small', value: 1 }]))
      const result = await callPage<Result>(page, 'tryBigWrite', db, asArg([
        { type: 'putRecord', record: record('notes', 'n1', 1, 0) },
        { type: 'deleteMeta', key: 'small' }
      ]), 'big', 4 * 1024 * 1024)
      expect(result).toMatchObject({ ok: false, name: 'QuotaExceededError' })
      expect(await callPage<Dump>(page, 'dump', db, ['notes'])).toMatchObject({ records: { notes: [] }, meta: [['small', 1]] })
      // The store goes on working after the failed transaction.
      await callPage(page, 'write', db, asArg([{ type: 'putMeta', key: 'after', value: 2 }]))
      expect(await callPage(page, 'getMeta', db, 'after')).toBe(2)
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin })
      await cdp.detach()
      await quotaServer.close()
    }
  })

  it('closes on versionchange so another tab can upgrade, then refuses further use with a clear error', async () => {
    const db = freshDb()
    const [tabA, tabB] = [await open(), await open()]
    await callPage(tabA, 'write', db, asArg([{ type: 'putMeta', key: 'x', value: 1 }]))
    // Without tab A closing its connection, this open would wait (blocked) for ever.
    expect(await callPage<Result>(tabB, 'openAtVersion', db, SCHEMA_VERSION + 1)).toEqual({ ok: true })
    expect(await callPage<Result>(tabA, 'tryGetMeta', db, 'x')).toMatchObject({ ok: false, message: expect.stringContaining('another tab upgraded or deleted the database') })
  })

  it('upgrades a version 1 database: records, pending flags and meta stay, and the new live index pages and counts them', async () => {
    const page = await open()
    const records = Array.from({ length: 30 }, (_, index) => {
      const id = `r${String(index).padStart(2, '0')}`
      const deleted = index % 4 === 1
      return { ...record('notes', id, index % 5 === 0 ? 2 : 1, 1, deleted ? null : { index }), deleted }
    })
    const live = records.filter((r) => !r.deleted)
    const result = await callPage<{
      pages: RecordPage[]
      listed: LocalRecord[]
      pending: LocalRecord[]
      cursor: unknown
      afterWrite: RecordPage
      version: number
      indexes: string[]
    }>(page, 'upgradeFromV1', freshDb(), records as unknown as PageValue, [
      { offset: 0, limit: 5 },
      { offset: 20, limit: 5 },
      { offset: 3, limit: 4, idPrefix: 'r1' },
      { offset: 0, limit: 3, includeDeleted: true, idPrefix: 'r2' }
    ])
    expect(result.version).toBe(SCHEMA_VERSION)
    expect(result.indexes.sort()).toEqual(['live', 'pending'])
    expect(result.listed).toEqual(records)
    expect(result.pending.map((r) => r.id)).toEqual(records.filter((r) => r.version > r.syncedVersion).map((r) => r.id))
    expect(result.cursor).toEqual({ cursor: 'c1', last: 7 })
    const r1 = live.filter((r) => r.id.startsWith('r1'))
    expect(result.pages).toEqual([
      { records: live.slice(0, 5), matching: live.length, total: live.length },
      { records: live.slice(20, 25), matching: live.length, total: live.length },
      { records: r1.slice(3, 7), matching: r1.length, total: live.length },
      { records: records.filter((r) => r.id.startsWith('r2')).slice(0, 3), matching: 10, total: 30 }
    ])
    expect(result.afterWrite.records.map((r) => r.id)).toEqual(live.slice(1).map((r) => r.id))
    expect(result.afterWrite.total).toBe(live.length - 1)
  })

  it('pages 10,500 records: near the end, with tombstones, and by prefix', async () => {
    const page = await open()
    const count = 10_500
    const result = await callPage<Record<string, { ids: string[]; matching: number; total: number }>>(page, 'bigCollection', freshDb(), count)
    const all = Array.from({ length: count }, (_, index) => ({ id: `r${String(index).padStart(6, '0')}`, deleted: index % 7 === 0 }))
    const live = all.filter((r) => !r.deleted)
    expect(live).toHaveLength(9000)
    expect(result.end).toEqual({ ids: live.slice(live.length - 3).map((r) => r.id), matching: 9000, total: 9000 })
    expect(result.all).toEqual({ ids: all.slice(count - 2).map((r) => r.id), matching: count, total: count })
    const r009 = live.filter((r) => r.id.startsWith('r009'))
    expect(result.prefix).toEqual({ ids: r009.slice(50, 53).map((r) => r.id), matching: r009.length, total: 9000 })
  })

  it('rejects a blocked open with a clear error instead of waiting, and opens once the old connection is gone', async () => {
    const page = await open()
    const result = await callPage<{ blocked: Result; after: Result }>(page, 'blockedOpen', freshDb())
    expect(result.blocked).toMatchObject({ ok: false, message: expect.stringContaining('is blocked by another open connection at version 1') })
    expect(result.after).toEqual({ ok: true })
  })
})
