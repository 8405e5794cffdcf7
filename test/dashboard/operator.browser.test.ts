import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { newUser } from './api.js'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, signUpOnPage } from './harness.js'

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/** The number a stat card shows, as the page shows it (digits only: "1,234" → 1234). */
const stat = async (page: Page, name: string) => {
  const text = await page.locator(`[data-stat="${name}"] .stat-value`).textContent()
  return text === null ? null : Number(text.replace(/[^\d]/g, ''))
}

/**
 * "Server", the operator view: operators (configured by e-mail) see health,
 * backend and counts that match what the test made; everyone else is told
 * the page is not for them and sees no numbers.
 */
const operator = newEmail('operator')

describeDashboard('dashboard operator view (Chromium, SQLite)', (rig) => {
  it('shows an operator the counts of what exists, refreshed on demand and every 10 s, and no record data', async () => {
    // What exists: two users, two collections, three records of which one deleted, a lock, an open batch.
    const maker = await newUser(rig.url, newEmail('maker'))
    for (const id of ['alpha', 'beta']) expect((await maker.call('POST', 'collections', { id })).status).toBe(201)
    const data = [
      ['alpha', 'one', { n: 1 }],
      ['alpha', 'two', { text: 'héllo wörld' }],
      ['beta', 'three', { secret: 'do not show me' }]
    ] as const
    for (const [collection, id, body] of data) expect((await maker.call('POST', `collections/${collection}/records`, { id, data: body })).status).toBe(201)
    expect((await maker.call('DELETE', 'collections/beta/records/three?version=1')).status).toBe(200)
    expect((await maker.call('POST', 'collections/alpha/locks', { holder: 'importer', ttlSeconds: 600 })).status).toBe(201)
    expect((await maker.call('POST', 'batches', { ttl: 600 })).status).toBe(201)
    const liveBytes = Buffer.byteLength(JSON.stringify(data[0][2])) + Buffer.byteLength(JSON.stringify(data[1][2]))

    const page = await rig.open()
    await signUpOnPage(page, operator)
    // The menu offers "Server" to operators.
    await expect.poll(() => page.getByRole('link', { name: 'Server' }).count(), { timeout: 10_000 }).toBe(1)
    await page.getByRole('link', { name: 'Server' }).click()
    await expect.poll(() => page.getByTestId('server-stats').count(), { timeout: 10_000 }).toBe(1)

    expect(await page.locator('[data-stat="health"] .stat-value').textContent()).toBe('OK')
    expect(await page.locator('[data-stat="backend"] .stat-value').textContent()).toBe('SQLite')
    expect(await page.locator('[data-stat="version"] .stat-value').textContent()).toBe(version)
    expect(await stat(page, 'users')).toBe(2)
    expect(await stat(page, 'collections')).toBe(2)
    expect(await stat(page, 'records')).toBe(2)
    expect(await stat(page, 'tombstones')).toBe(1)
    expect(await page.locator('[data-stat="bytes"] .stat-value').textContent()).toBe(`${liveBytes} bytes`)
    expect(await stat(page, 'openBatches')).toBe(1)
    expect(await stat(page, 'locks')).toBe(1)
    // This page's own realtime connection at least.
    expect(await stat(page, 'connections')).toBeGreaterThanOrEqual(1)
    expect(await page.locator('[data-stat="uptime"] .stat-value').textContent()).toMatch(/\d+ (second|minute)s?/)
    // Counts only: no record's data or id reaches the page.
    const text = (await page.locator('main').textContent()) ?? ''
    for (const forbidden of ['héllo', 'do not show me', 'alpha', 'importer']) expect(text).not.toContain(forbidden)
    await screenshots(rig, page, 'operator')

    // Refresh: a new record shows, and the refresh is announced.
    expect((await maker.call('POST', 'collections/beta/records', { id: 'four', data: { n: 4 } })).status).toBe(201)
    await page.getByRole('button', { name: 'Refresh' }).click()
    await expect.poll(() => stat(page, 'records')).toBe(3)
    await expect.poll(() => page.locator('#operator-said').textContent()).toMatch(/^Refreshed at/)

    // On its own, within a refresh period (10 s) and a little.
    expect((await maker.call('POST', 'collections/beta/records', { id: 'five', data: { n: 5 } })).status).toBe(201)
    await expect.poll(() => stat(page, 'records'), { timeout: 14_000, interval: 500 }).toBe(4)
  })

  it('tells anyone else the page is only for operators, with no numbers, and hides it from the menu', async () => {
    const page = await rig.open()
    const probe = page.waitForResponse((response) => response.url().endsWith('/server-stats'), { timeout: 15_000 })
    await signUpOnPage(page, newEmail('someone'))
    // The page asked once after sign-in; the 403 decided against "Server" in the menu.
    expect((await probe).status()).toBe(403)
    await expect.poll(() => page.getByRole('link', { name: 'Encryption keys' }).count()).toBe(1)
    expect(await page.getByRole('link', { name: 'Server' }).count()).toBe(0)

    await page.goto(`${rig.url}#/operator`)
    await expect.poll(() => page.getByTestId('operator-refused').count(), { timeout: 10_000 }).toBe(1)
    expect(await page.getByTestId('operator-refused').textContent()).toBe("Only the server's operators see this page.")
    expect(await page.getByTestId('server-stats').count()).toBe(0)
    expect(await page.locator('main').textContent()).not.toMatch(/\d/)
    await rig.screenshot(page, 'operator-refused')
  })
}, { overrides: { operators: [operator.toUpperCase()] } })
