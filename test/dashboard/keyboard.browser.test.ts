import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { apiAs, newUser } from './api.js'
import { describeDashboard, newEmail, PASSWORD } from './harness.js'

/** What has focus: its accessible-ish name (label, aria-label or text), tag and a few attributes. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null
    if (!element) return null
    const labelled = element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null
    const wrapping = element.closest('label')?.textContent
    return {
      tag: element.tagName.toLowerCase(),
      id: element.id,
      name: (element.getAttribute('aria-label') ?? labelled ?? wrapping ?? element.textContent ?? '').replace(/\s+/g, ' ').trim(),
      collection: element.getAttribute('data-collection-link'),
      outline: getComputedStyle(element).outlineStyle
    }
  })

/**
 * Keyboard only, from signing in to opening a collection: Tab, Shift+Tab,
 * Enter and Escape, checking at each step where focus is, that it shows,
 * and that dialogs take it and give it back.
 */
describeDashboard('dashboard by keyboard (Chromium, SQLite)', (rig) => {
  it('signs in, makes a collection in the dialog, opens it, and moves through the menu, all by keyboard', async () => {
    const email = newEmail('keys-only')
    await newUser(rig.url, email)
    const page = await rig.open(rig.browser, '#/signin')
    const key = (name: string) => page.keyboard.press(name)

    // Sign in: the view's main region has focus; Tab goes to the e-mail field, then the password; Enter submits.
    await expect.poll(() => focused(page).then((f) => f?.id)).toBe('main')
    await key('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'input', name: 'E-mail' })
    await page.keyboard.type(email)
    await key('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'input', name: 'Password' })
    await page.keyboard.type(PASSWORD)
    await key('Enter')
    await expect.poll(() => page.url(), { timeout: 15_000 }).toMatch(/#\/$/)
    await expect.poll(() => page.getByRole('heading', { name: 'No collections yet' }).count()).toBe(1)
    // A new view: focus is on its main region again, so the next Tab starts in the content.
    await expect.poll(() => focused(page).then((f) => f?.id)).toBe('main')

    // The first control of the collections view: "New collection"; Enter opens the dialog, focus in its first field.
    await key('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'button', name: 'New collection', outline: 'solid' })
    await key('Enter')
    await expect.poll(() => page.getByRole('dialog', { name: 'New collection' }).isVisible()).toBe(true)
    expect(await focused(page)).toMatchObject({ tag: 'input', name: 'Name' })
    // Escape closes it and focus goes back to the button that opened it.
    await key('Escape')
    await expect.poll(() => page.getByRole('dialog', { name: 'New collection' }).isVisible()).toBe(false)
    expect(await focused(page)).toMatchObject({ tag: 'button', name: 'New collection' })

    // Again, and this time make one: Name, Tab, Id, Enter.
    await key('Enter')
    await expect.poll(() => focused(page).then((f) => f?.name)).toBe('Name')
    await page.keyboard.type('Field notes')
    await key('Tab')
    expect((await focused(page))?.name).toMatch(/^Id/)
    await page.keyboard.type('field-notes')
    await key('Enter')
    await expect.poll(() => page.getByRole('dialog', { name: 'New collection' }).isVisible()).toBe(false)
    // Focus is on the new collection's link…
    await expect.poll(() => focused(page).then((f) => f?.collection)).toBe('field-notes')
    expect((await apiAs(rig.url, email).then((api) => api.call('GET', 'collections/field-notes'))).status).toBe(200)
    // …then its Rename and Delete buttons, in that order.
    await key('Tab')
    expect((await focused(page))?.name).toBe('Rename Field notes')
    await key('Tab')
    expect((await focused(page))?.name).toBe('Delete Field notes')
    // Delete by keyboard, then think better of it: Escape, and focus is back on Delete.
    await key('Enter')
    await expect.poll(() => page.getByRole('dialog', { name: 'Delete “Field notes”?' }).isVisible()).toBe(true)
    await expect.poll(() => focused(page).then((f) => f?.name)).toBe('Keep it')
    await key('Escape')
    await expect.poll(() => page.getByRole('dialog', { name: 'Delete “Field notes”?' }).isVisible()).toBe(false)
    expect((await focused(page))?.name).toBe('Delete Field notes')

    // Back to the link, and Enter opens the collection; focus on the new view's main region.
    await key('Shift+Tab')
    await key('Shift+Tab')
    expect((await focused(page))?.collection).toBe('field-notes')
    await key('Enter')
    await expect.poll(() => page.url()).toMatch(/#\/c\/field-notes$/)
    await expect.poll(() => focused(page).then((f) => f?.id)).toBe('main')

    // Backwards from the content: the header's controls, last to first, then the skip link.
    const order: string[] = []
    for (let i = 0; i < 6; i++) {
      await key('Shift+Tab')
      order.push((await focused(page))?.name ?? '')
    }
    expect(order).toEqual(['Sign out', 'Encryption keys', 'Invitations', 'Collections', 'Roost', 'Skip to content'])
    // The skip link takes focus past the header.
    await key('Enter')
    expect((await focused(page))?.id).toBe('main')

    // Through the menu: Shift+Tab to "Encryption keys", Enter: that view, focus on its content.
    await key('Shift+Tab')
    await key('Shift+Tab')
    expect((await focused(page))?.name).toBe('Encryption keys')
    await key('Enter')
    await expect.poll(() => page.url()).toMatch(/#\/account$/)
    await expect.poll(() => focused(page).then((f) => f?.id)).toBe('main')
    await expect.poll(() => page.getByRole('button', { name: 'Create encryption keys' }).count(), { timeout: 10_000 }).toBe(1)
    rig.takeErrors() // the page's look-up of this account's public key: none yet, a 404
    await key('Tab')
    expect((await focused(page))?.name).toBe('Create encryption keys')
  })
})
