import { expect, it } from 'vitest'
import { apiAs } from './api.js'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, signInOnPage, signUpOnPage } from './harness.js'

const PASSPHRASE = 'otter lantern quietly folds'

/**
 * "Encryption keys": create them (the recovery phrase shown once), then a
 * second browser of the same person unlocks with the phrase, and a third
 * with the passphrase set on the first; each ends with the same fingerprint.
 */
describeDashboard('dashboard encryption keys (Chromium, SQLite)', (rig) => {
  it('creates keys, shows the phrase once, and other browsers unlock with the phrase and with the passphrase', async () => {
    const email = newEmail('keys')
    const page = await rig.open()
    await signUpOnPage(page, email)
    await page.getByRole('link', { name: 'Encryption keys' }).click()
    await expect.poll(() => page.getByTestId('keys-none').count(), { timeout: 10_000 }).toBe(1)
    // The page asked the server for this account's public key: none yet, a 404 Chromium reports on the console.
    rig.takeErrors()
    await rig.screenshot(page, 'account-none')

    await page.getByRole('button', { name: 'Create encryption keys' }).click()
    const phraseCard = page.getByTestId('recovery-phrase')
    await expect.poll(() => phraseCard.count(), { timeout: 15_000 }).toBe(1)
    const words = await phraseCard.locator('ol.phrase .word').allTextContents()
    expect(words).toHaveLength(24)
    for (const word of words) expect(word).toMatch(/^[a-z]+$/)
    // Focus moved to the phrase's heading, so a screen reader starts reading there.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Write down your recovery phrase')
    await screenshots(rig, page, 'account-phrase')
    const done = page.getByRole('button', { name: 'Done' })
    expect(await done.isDisabled()).toBe(true)
    await page.getByLabel(/I have written down these 24 words/).check()
    await done.click()
    await expect.poll(() => page.getByTestId('keys-ready').count()).toBe(1)
    // Shown once: the phrase is gone from the page.
    expect(await page.getByTestId('recovery-phrase').count()).toBe(0)
    await expect.poll(() => page.getByTestId('fingerprint').textContent()).toMatch(/^(\d{5} ){5}\d{5}$/)
    const fingerprint = await page.getByTestId('fingerprint').textContent()

    const api = await apiAs(rig.url, email)
    const key = await api.call<{ publicKey: string; passphraseWrap: unknown }>('GET', `user-keys/${api.userId}`)
    expect(key.status).toBe(200)
    expect(key.body.publicKey).toMatch(/^[A-Za-z0-9_-]{40,}$/)
    expect(key.body.passphraseWrap ?? null).toBeNull()

    // The QR code for another device: behind a button, an <img> of a data: URL.
    const show = page.getByRole('button', { name: 'Show QR code' })
    expect(await show.getAttribute('aria-expanded')).toBe('false')
    await show.click()
    const qr = page.getByRole('img', { name: 'QR code of your recovery phrase' })
    await expect.poll(() => qr.count()).toBe(1)
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml,%3Csvg/)
    // It loaded (the CSP allows data: images) and has a size.
    await expect.poll(() => qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    await screenshots(rig, page, 'account-ready')
    await page.getByRole('button', { name: 'Hide QR code' }).click()
    expect(await qr.count()).toBe(0)

    // A passphrase: mismatched repeats are refused on the page; a matching pair is stored (wrapped) on the server.
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE)
    await page.getByLabel('Repeat it').fill(`${PASSPHRASE}!`)
    expect(await page.getByRole('button', { name: 'Set passphrase' }).isDisabled()).toBe(true)
    await page.getByLabel('Repeat it').fill(PASSPHRASE)
    await page.getByRole('button', { name: 'Set passphrase' }).click()
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toContain('Passphrase set')
    await expect.poll(async () => (await api.call<{ passphraseWrap: unknown }>('GET', `user-keys/${api.userId}`)).body.passphraseWrap ?? null).not.toBeNull()
    await expect.poll(() => page.getByRole('button', { name: 'Change passphrase' }).count()).toBe(1)

    // With keys here, an encrypted collection can be made; the list marks it.
    await page.getByRole('link', { name: 'Collections' }).click()
    await page.getByRole('button', { name: 'New collection' }).click()
    const create = page.getByRole('dialog', { name: 'New collection' })
    await create.getByLabel('Name').fill('Diary')
    await create.getByLabel(/^Id/).fill('diary')
    const encrypted = create.getByLabel('End-to-end encrypted')
    await expect.poll(() => encrypted.isEnabled()).toBe(true)
    await encrypted.check()
    await create.getByRole('button', { name: 'Create collection' }).click()
    await expect.poll(() => page.locator('[data-collection="diary"] .badge.encrypted').count(), { timeout: 10_000 }).toBe(1)
    const epochs = await api.call<unknown[]>('GET', 'collections/diary/key-epochs')
    expect(epochs.body).toHaveLength(1)
    // Without keys the box cannot be ticked (checked below, in a browser that has none yet).

    // A second browser of the same person: unlocks with the recovery phrase (a wrong one is refused first).
    const second = await rig.second()
    const page2 = await rig.open(second)
    await signInOnPage(page2, email)
    await page2.getByRole('button', { name: 'New collection' }).click()
    await expect.poll(() => page2.getByRole('dialog', { name: 'New collection' }).getByLabel('End-to-end encrypted').isDisabled()).toBe(true)
    await page2.keyboard.press('Escape')
    await page2.goto(`${rig.url}#/account`)
    await expect.poll(() => page2.getByTestId('keys-elsewhere').count(), { timeout: 30_000 }).toBe(1)
    await rig.screenshot(page2, 'account-unlock')
    const phraseField = page2.getByLabel('Recovery phrase (24 words)')
    await phraseField.fill([...words].reverse().join(' '))
    await page2.getByRole('button', { name: 'Unlock with recovery phrase' }).click()
    await expect.poll(() => page2.getByRole('alert').textContent()).toMatch(/recovery phrase/i)
    expect(await page2.getByTestId('keys-ready').count()).toBe(0)
    await phraseField.fill(words.join('\n'))
    await page2.getByRole('button', { name: 'Unlock with recovery phrase' }).click()
    await expect.poll(() => page2.getByTestId('keys-ready').count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(() => page2.getByTestId('fingerprint').textContent()).toBe(fingerprint)
    expect(await page2.getByTestId('notice').textContent()).toContain('Unlocked with the recovery phrase')

    // A third: unlocks with the passphrase (a wrong one is refused first).
    const third = await rig.second()
    const page3 = await rig.open(third)
    await signInOnPage(page3, email)
    await page3.goto(`${rig.url}#/account`)
    await expect.poll(() => page3.getByTestId('keys-elsewhere').count(), { timeout: 30_000 }).toBe(1)
    await page3.getByLabel('Passphrase', { exact: true }).fill('not the passphrase')
    await page3.getByRole('button', { name: 'Unlock with passphrase' }).click()
    await expect.poll(() => page3.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/Wrong passphrase/)
    await page3.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE)
    await page3.getByRole('button', { name: 'Unlock with passphrase' }).click()
    await expect.poll(() => page3.getByTestId('keys-ready').count(), { timeout: 30_000 }).toBe(1)
    await expect.poll(() => page3.getByTestId('fingerprint').textContent()).toBe(fingerprint)
  })
})
