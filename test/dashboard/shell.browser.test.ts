import { expect, it } from 'vitest'
import { describeDashboard, newEmail, signInOnPage, signUpOnPage } from './harness.js'

/** The page's shell: sign-up, sign-in, sign-out, the status line, security headers. SQLite: the page is the same on every backend (the server's own suites cover those). */
describeDashboard('dashboard shell (Chromium, SQLite)', (rig) => {
  it('signs up, shows the sync status in words, signs out and in again', async () => {
    const page = await rig.open()
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
