import { expect, it } from 'vitest'
import { createRoost, memoryStore } from '../../src/client/index.js'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, PASSWORD, signUpOnPage } from './harness.js'

const SECRET = 'the plaintext only devices with the key read'

/**
 * An encrypted collection on a browser without the account's keys is shown
 * opaque (ids, versions, ciphertext sizes; no plaintext, no editing); after
 * unlocking with the recovery phrase on the page it is synced and shown in
 * plaintext.
 */
describeDashboard('dashboard encrypted collection (Chromium, SQLite)', (rig) => {
  it('shows opaque rows before unlocking and plaintext after', async () => {
    const page = await rig.open()
    const email = newEmail('crypto')
    await signUpOnPage(page, email)

    // Another device of the same account makes the keys and writes the encrypted records.
    const laptop = createRoost({ url: rig.url.replace(/\/$/, ''), auth: { email, password: PASSWORD }, store: memoryStore() })
    const collectionId = `diary-${Date.now().toString(36)}`
    let phrase: string
    try {
      phrase = (await laptop.account.create()).recoveryPhrase
      const diary = laptop.collection(collectionId, { encrypted: true })
      await diary.put('day-1', { text: SECRET })
      await diary.put('day-2', { text: `${SECRET}, again` })
      await laptop.whenSynced()
    } finally {
      await laptop.close()
    }

    await page.goto(`${rig.url}#/c/${collectionId}`)
    await expect.poll(() => page.getByTestId('encrypted-locked').count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(() => page.getByTestId('record-counts').textContent(), { timeout: 15_000 }).toBe('2 encrypted records on the server')
    await expect.poll(() => page.getByRole('row', { name: /day-1/ }).count()).toBe(1)
    expect(await page.locator('main').textContent()).not.toContain(SECRET)
    expect(await page.getByRole('button', { name: 'New record' }).count()).toBe(0)
    expect(await page.locator('.collection-header').textContent()).toContain('encrypted · locked')
    await screenshots(rig, page, 'encrypted-locked')

    await page.getByLabel('Recovery phrase or passphrase').fill(phrase)
    await page.getByRole('button', { name: 'Unlock on this device' }).click()
    await expect.poll(() => page.getByTestId('record-counts').textContent(), { timeout: 30_000 }).toMatch(/^Showing 2 of 2 records/)
    await page.getByRole('row', { name: /^day-1,/ }).click()
    await expect.poll(() => page.getByRole('dialog').getByTestId('record-json').textContent(), { timeout: 15_000 }).toContain(SECRET)
    expect(await page.locator('.collection-header').textContent()).not.toContain('locked')
    await rig.screenshot(page, 'encrypted-unlocked')
  }, 90_000)
})
