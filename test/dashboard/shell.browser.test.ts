import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sqlite } from '../helpers/backends.js'
import { browserSkipReason } from '../helpers/browser.js'
import { dashboardRig, newEmail, signInOnPage, signUpOnPage, type DashboardRig } from './harness.js'

/** The page's shell: sign-up, sign-in, sign-out, the status line, security headers. SQLite: the page is the same on every backend (the server's own suites cover those). */
describe.skipIf(browserSkipReason())('dashboard shell (Chromium, SQLite)', () => {
  let rig: DashboardRig
  const pages: Page[] = []

  beforeAll(async () => {
    rig = await dashboardRig(sqlite)
  })
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close()
    expect(rig.takeErrors()).toEqual([])
    expect(rig.outsideRequests()).toEqual([])
  })
  afterAll(async () => {
    await rig?.close()
  })

  it('signs up, shows the sync status in words, signs out and in again', async () => {
    const page = await rig.open()
    pages.push(page)
    // Signed out, any place leads to the sign-in form.
    await expect.poll(() => page.url()).toMatch(/#\/signin$/)
    await rig.screenshot(page, 'sign-in')
    const email = newEmail()
    await signUpOnPage(page, email)
    await expect.poll(() => page.getByTestId('sync-status').textContent(), { timeout: 15_000 }).toMatch(/^Online/)
    await expect.poll(() => page.url()).toMatch(/#\/$/)

    // A reload keeps this tab signed in.
    await page.reload()
    await expect.poll(() => page.getByTestId('sync-status').textContent(), { timeout: 15_000 }).toMatch(/^Online/)

    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect.poll(() => page.url()).toMatch(/#\/signin$/)
    await signInOnPage(page, email)
    await expect.poll(() => page.getByTestId('sync-status').textContent(), { timeout: 15_000 }).toMatch(/^Online/)
  })

  it('says what is wrong with a wrong password, without leaving the form', async () => {
    const page = await rig.open()
    pages.push(page)
    const email = newEmail()
    await signUpOnPage(page, email)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill('not the password at all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Invalid login/i)
    // The server logs the failed sign-in as a 401 response; Chromium reports the failed fetch on the console.
    rig.takeErrors()
  })
})
