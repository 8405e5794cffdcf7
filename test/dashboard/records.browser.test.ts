import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, PUBLIC_DIR, signUpOnPage } from './harness.js'
import { recordPath, signInRest, type RestUser, type WireRecord } from './rest.js'

const counts = (page: Page) => page.getByTestId('record-counts').textContent()
const row = (page: Page, id: string) => page.getByRole('row', { name: new RegExp(`^${id},`) })

/**
 * The records tab against a real server and Chromium: records written by
 * someone else appear live, edits from the page reach the server with the
 * version rules, a conflict is shown side by side and resolved, tombstones
 * on demand, the export downloads every record, and a collection of 10,000
 * records scrolls without putting them all in the DOM.
 */
describeDashboard('dashboard records (Chromium, SQLite)', (rig) => {
  const signedUp = async (): Promise<{ page: Page; api: RestUser }> => {
    const page = await rig.open()
    const email = newEmail('records')
    await signUpOnPage(page, email)
    return { page, api: await signInRest(rig.url, email) }
  }

  it('shows records live, edits them, shows and resolves a conflict, shows tombstones, exports every record', async () => {
    const { page, api } = await signedUp()
    const collectionId = `notes-${Date.now().toString(36)}`
    await api.call('POST', 'collections', { id: collectionId, name: 'Field notes' })
    await page.goto(`${rig.url}#/c/${collectionId}`)
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Field notes')
    await expect.poll(() => counts(page), { timeout: 15_000 }).toMatch(/^Showing 0 of 0 records/)

    // Written by "another device" through the API: on the page without a reload, in the table and the change panel.
    await api.call('POST', recordPath(collectionId), { id: 'alpha', data: { title: 'from the API' } })
    await expect.poll(() => row(page, 'alpha').count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(() => counts(page)).toMatch(/^Showing 1 of 1 record\b/)
    await expect.poll(() => page.getByTestId('changes').textContent()).toContain('alpha')
    await api.call('POST', recordPath(collectionId), [
      { id: 'beta', data: { title: 'second', tags: ['a', 'b'] } },
      { id: 'gamma', data: { title: 'third', body: 'x'.repeat(3000) } }
    ])
    await expect.poll(() => counts(page), { timeout: 15_000 }).toMatch(/^Showing 3 of 3 records/)
    await expect.poll(() => row(page, 'gamma').textContent()).toContain('3 kB')
    await expect.poll(() => row(page, 'alpha').textContent()).toContain(api.email)
    await expect.poll(() => page.getByTestId('changes').locator('li').count()).toBe(3)
    await rig.screenshot(page, 'records')
    await page.emulateMedia({ colorScheme: 'dark' })
    await rig.screenshot(page, 'records-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    // Edit on the page (Enter opens the row): invalid JSON is refused with a clear error, valid JSON reaches the server as version 2.
    await row(page, 'alpha').focus()
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog')
    await expect.poll(() => dialog.getByTestId('record-json').textContent()).toContain('from the API')
    await dialog.getByRole('button', { name: 'Edit' }).click()
    const editor = dialog.getByLabel('Data (JSON)')
    await editor.fill('{"title": "edited on the page",')
    await expect.poll(() => dialog.locator('.field-error').textContent()).toMatch(/^Not valid JSON/)
    expect(await dialog.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true)
    await editor.fill('{"title": "edited on the page"}')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect
      .poll(async () => {
        const record = await api.call<WireRecord>('GET', recordPath(collectionId, 'alpha'))
        return [record.version, record.data]
      }, { timeout: 15_000 })
      .toEqual([2, { title: 'edited on the page' }])
    await dialog.getByRole('button', { name: 'Close' }).click()

    // A conflict: the page edits while offline, the API writes the same record meanwhile.
    await row(page, 'alpha').click()
    await dialog.getByRole('button', { name: 'Edit' }).click()
    await page.context().setOffline(true)
    await dialog.getByLabel('Data (JSON)').fill('{"title": "mine, written offline"}')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => dialog.textContent()).toContain('pending')
    await api.call('PUT', recordPath(collectionId, 'alpha'), { data: { title: "theirs, from the API" }, version: 2 })
    await page.context().setOffline(false)
    await expect.poll(() => dialog.getByTestId('conflict-mine').count(), { timeout: 20_000 }).toBe(1)
    expect(await dialog.getByTestId('conflict-mine').textContent()).toContain('mine, written offline')
    expect(await dialog.getByTestId('conflict-server').textContent()).toContain('theirs, from the API')
    await expect.poll(() => page.getByTestId('conflict-count').textContent()).toContain('1 conflict')
    await expect.poll(() => row(page, 'alpha').getAttribute('class')).toContain('is-conflict')
    await screenshots(rig, page, 'conflict')
    // Resolved with a merge written on the page: on the server on top of the other write.
    await dialog.getByRole('button', { name: 'Edit a merge…' }).click()
    await dialog.getByLabel('Merged data (JSON)').fill('{"title": "merged"}')
    await dialog.getByRole('button', { name: 'Save merge' }).click()
    await expect
      .poll(async () => {
        const record = await api.call<WireRecord>('GET', recordPath(collectionId, 'alpha'))
        return [record.version, record.data]
      }, { timeout: 15_000 })
      .toEqual([4, { title: 'merged' }])
    await expect.poll(() => page.getByTestId('conflict-count').count()).toBe(0)
    await dialog.getByRole('button', { name: 'Close' }).click()

    // The other two ways out: keep mine (written on top of theirs), take the server's (mine dropped).
    const conflictOn = async (id: string, mine: string, theirs: string) => {
      const before = await api.call<WireRecord>('GET', recordPath(collectionId, id))
      await row(page, id).click()
      await dialog.getByRole('button', { name: 'Edit' }).click()
      await page.context().setOffline(true)
      await dialog.getByLabel('Data (JSON)').fill(JSON.stringify({ title: mine }))
      await dialog.getByRole('button', { name: 'Save' }).click()
      await expect.poll(() => dialog.textContent()).toContain('pending')
      await api.call('PUT', recordPath(collectionId, id), { data: { title: theirs }, version: before.version })
      await page.context().setOffline(false)
      await expect.poll(() => dialog.getByTestId('conflict-server').textContent(), { timeout: 20_000 }).toContain(theirs)
      return before.version
    }
    const gammaVersion = await conflictOn('gamma', 'gamma kept from the page', 'gamma from the API')
    await dialog.getByRole('button', { name: 'Keep mine' }).click()
    await expect
      .poll(async () => {
        const record = await api.call<WireRecord>('GET', recordPath(collectionId, 'gamma'))
        return [record.version, record.data]
      }, { timeout: 15_000 })
      .toEqual([gammaVersion + 2, { title: 'gamma kept from the page' }])
    await dialog.getByRole('button', { name: 'Close' }).click()
    await conflictOn('alpha', 'alpha dropped', 'alpha from the API wins')
    await dialog.getByRole('button', { name: "Take the server's" }).click()
    await expect.poll(() => dialog.getByTestId('record-json').textContent(), { timeout: 15_000 }).toContain('alpha from the API wins')
    await expect.poll(() => page.getByTestId('conflict-count').count()).toBe(0)
    expect((await api.call<WireRecord>('GET', recordPath(collectionId, 'alpha'))).version).toBe(5)
    await dialog.getByRole('button', { name: 'Close' }).click()

    // Delete with a confirmation; the tombstone shows only with "Show deleted".
    await row(page, 'beta').click()
    await dialog.getByRole('button', { name: 'Delete…' }).click()
    await dialog.getByRole('button', { name: 'Delete record' }).click()
    await dialog.getByRole('button', { name: 'Close' }).click()
    await expect.poll(() => counts(page), { timeout: 15_000 }).toMatch(/^Showing 2 of 2 records/)
    await expect.poll(() => row(page, 'beta').count()).toBe(0)
    await page.getByLabel('Show deleted').check()
    await expect.poll(() => counts(page)).toMatch(/^Showing 3 of 3 records incl\. tombstones/)
    await expect.poll(() => row(page, 'beta').textContent()).toContain('deleted')
    await expect
      .poll(async () => (await api.call<{ data: WireRecord[] }>('GET', `${recordPath(collectionId)}?deleted=true`)).data.map((record) => record.id), { timeout: 15_000 })
      .toEqual(['beta'])

    // The filter by id prefix, with its count.
    await page.getByLabel('Filter by id prefix').fill('g')
    await expect.poll(() => counts(page)).toMatch(/^1 matching of 3/)
    await page.getByLabel('Filter by id prefix').fill('')

    // New record on the page.
    await page.getByRole('button', { name: 'New record' }).click()
    await dialog.getByLabel('Id').fill('delta')
    await dialog.getByLabel('Data (JSON)').fill('[1, 2, 3]')
    await dialog.getByRole('button', { name: 'Create' }).click()
    await expect.poll(async () => (await api.call<WireRecord>('GET', recordPath(collectionId, 'delta')).catch(() => null))?.data, { timeout: 15_000 }).toEqual([1, 2, 3])
    await dialog.getByRole('button', { name: 'Close' }).click()

    // The export: a file of NDJSON, a header line, then every record (tombstones too); the last line of an id wins.
    const downloading = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export', exact: true }).click()
    const download = await downloading
    expect(download.suggestedFilename()).toMatch(new RegExp(`^roost-${collectionId}-\\d{8}\\.ndjson$`))
    const path = await download.path()
    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '')
    const [header, ...records] = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(header).toMatchObject({ format: 'roost-export', version: 1, collections: [{ id: collectionId, name: 'Field notes', role: 'owner', encrypted: false }] })
    const latest = new Map(records.map((record) => [record.id as string, record]))
    expect([...latest.keys()].sort()).toEqual(['alpha', 'beta', 'delta', 'gamma'])
    expect(latest.get('alpha')).toMatchObject({ collectionId, version: 5, deleted: false, data: { title: 'alpha from the API wins' } })
    expect(latest.get('beta')).toMatchObject({ deleted: true, data: null })

    // "Export all my data", on the collections page: every collection of the caller in one file.
    const other = `other-${Date.now().toString(36)}`
    await api.call('POST', 'collections', { id: other })
    await api.call('POST', recordPath(other), { id: 'only', data: { n: 1 } })
    await page.goto(`${rig.url}#/`)
    const downloadingAll = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export all my data' }).click()
    const all = await downloadingAll
    expect(all.suggestedFilename()).toMatch(/^roost-all-\d{8}\.ndjson$/)
    const [allHeader, ...allRecords] = (await readFile(await all.path(), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { collections?: Array<{ id: string }>; collectionId?: string; id?: string })
    expect(allHeader?.collections?.map((collection) => collection.id).sort()).toEqual([collectionId, other].sort())
    expect(new Set(allRecords.map((record) => `${record.collectionId}/${record.id}`))).toEqual(
      new Set([...['alpha', 'beta', 'delta', 'gamma'].map((id) => `${collectionId}/${id}`), `${other}/only`])
    )

    // A tombstone brought back with new data: live again on the server, on top of its deletion.
    await page.goto(`${rig.url}#/c/${collectionId}`)
    await page.getByLabel('Show deleted').check()
    await row(page, 'beta').click()
    await dialog.getByRole('button', { name: 'Restore with new data…' }).click()
    await dialog.getByLabel('Data (JSON)').fill('{"title": "back again"}')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect
      .poll(async () => {
        const record = await api.call<WireRecord>('GET', recordPath(collectionId, 'beta')).catch(() => null)
        return record && [record.deleted, record.version, record.data]
      }, { timeout: 15_000 })
      .toEqual([false, 3, { title: 'back again' }])
    expect(rig.takeErrors().filter((error) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::|WebSocket/.test(error))).toEqual([])
  }, 120_000)

  it('scrolls a collection of 10,000 records without rendering them all; counts them; filters; fits 375 px', async () => {
    const { page, api } = await signedUp()
    const collectionId = `big-${Date.now().toString(36)}`
    await api.call('POST', 'collections', { id: collectionId, name: 'Ten thousand' })
    for (let start = 0; start < 10_000; start += 1000) {
      await api.call(
        'POST',
        recordPath(collectionId),
        Array.from({ length: 1000 }, (_, i) => ({ id: `r-${String(start + i).padStart(5, '0')}`, data: { n: start + i } }))
      )
    }
    const started = Date.now()
    await page.goto(`${rig.url}#/c/${collectionId}`)
    await expect.poll(() => counts(page), { timeout: 60_000 }).toMatch(/^Showing 10,000 of 10,000 records/)
    console.log(`10,000 records: first sync to the full count in ${Date.now() - started} ms`)
    await expect.poll(() => page.getByTestId('records-loading').count(), { timeout: 60_000 }).toBe(0)
    const rendered = () => page.locator('.vt tbody tr[data-index]').count()
    expect(await rendered()).toBeLessThan(100)
    expect(await page.locator('.vt table').getAttribute('aria-rowcount')).toBe('10001')

    // To the end: the last id shows, and still only a window of rows is in the DOM.
    await page.locator('.vt').evaluate((element) => (element.scrollTop = element.scrollHeight))
    await expect.poll(() => row(page, 'r-09999').count(), { timeout: 10_000 }).toBe(1)
    expect(await rendered()).toBeLessThan(100)
    // The middle, by keyboard: End then Home move the focused row.
    await row(page, 'r-09999').focus()
    await page.keyboard.press('Home')
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '')).toMatch(/^r-00000,/)

    await page.getByLabel('Filter by id prefix').fill('r-0999')
    await expect.poll(() => counts(page)).toMatch(/^10 matching of 10,000 records/)
    await page.getByLabel('Filter by id prefix').fill('')
    await expect.poll(() => counts(page)).toMatch(/^Showing 10,000 of 10,000/)

    // A phone: the page loads again at 375 px (the change panel starts collapsed there).
    await page.setViewportSize({ width: 375, height: 800 })
    await page.reload()
    await expect.poll(() => row(page, 'r-00000').count(), { timeout: 15_000 }).toBe(1)
    // Nothing wider than the screen: the page does not scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
    await rig.screenshot(page, 'records-375')
    expect(rig.takeErrors()).toEqual([])
  }, 180_000)

  it('reports the first view time and the page JavaScript size (at most 150 kB compressed)', async () => {
    const { page } = await signedUp()
    // A fresh load of a signed-in tab (the session is kept per tab): time to interactive and to the collections view.
    await page.goto(`${rig.url}#/`)
    await page.reload()
    await page.waitForFunction(() => (window as { __roostDashboardReadyMs?: number }).__roostDashboardReadyMs !== undefined)
    await page.getByRole('heading', { name: 'Collections', level: 1 }).waitFor()
    const readyMs = await page.evaluate(() => (window as { __roostDashboardReadyMs?: number }).__roostDashboardReadyMs ?? -1)
    const collectionsMs = await page.evaluate(() => performance.now())
    const assets = join(PUBLIC_DIR, 'assets')
    let gzipped = 0
    for (const file of (await readdir(assets)).filter((name) => name.endsWith('.js'))) gzipped += gzipSync(await readFile(join(assets, file)), { level: 9 }).byteLength
    console.log(`dashboard first view: interactive at ${readyMs.toFixed(0)} ms, collections view by ${collectionsMs.toFixed(0)} ms; JavaScript ${(gzipped / 1000).toFixed(1)} kB gzipped`)
    expect(gzipped).toBeLessThanOrEqual(150_000)
    expect(rig.takeErrors()).toEqual([])
  })
}, { noErrorsAfterEach: false })
