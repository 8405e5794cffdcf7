import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { apiAs, newUser } from './api.js'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, signUpOnPage } from './harness.js'

const activeCollectionLink = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-collection-link') ?? null)

/** #/: the collections list, create, rename, delete with its confirmation; each action checked through the REST API. */
describeDashboard('dashboard collections (Chromium, SQLite)', (rig) => {
  it('creates, renames and deletes a collection, and the server agrees at each step', async () => {
    const page = await rig.open()
    const email = newEmail('owner')
    await signUpOnPage(page, email)
    const api = await apiAs(rig.url, email)
    await expect.poll(() => page.getByRole('heading', { name: 'No collections yet' }).count()).toBe(1)

    // Create, with a chosen id.
    await page.getByRole('button', { name: 'New collection' }).click()
    const create = page.getByRole('dialog', { name: 'New collection' })
    await create.getByLabel('Name').fill('Groceries')
    await create.getByLabel(/^Id/).fill('groceries')
    await create.getByRole('button', { name: 'Create collection' }).click()
    await expect.poll(() => create.isVisible()).toBe(false)
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Created collection “Groceries”')
    // Focus lands on the new collection's link, so Enter opens it.
    await expect.poll(() => activeCollectionLink(page)).toBe('groceries')
    const created = await api.call<{ id: string; name: string; role: string }>('GET', 'collections/groceries')
    expect(created.status).toBe(200)
    expect(created.body).toMatchObject({ id: 'groceries', name: 'Groceries', role: 'owner' })

    // A second one without an id: the server picks one, and the page shows it.
    await page.getByRole('button', { name: 'New collection' }).click()
    await create.getByLabel('Name').fill('Scratch')
    await create.getByRole('button', { name: 'Create collection' }).click()
    await expect.poll(() => page.getByRole('link', { name: 'Scratch' }).count()).toBe(1)
    const listed = await api.call<{ data: Array<{ id: string; name: string | null }> }>('GET', 'collections')
    const scratch = listed.body.data.find((c) => c.name === 'Scratch')
    expect(scratch?.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(await page.locator(`[data-collection="${scratch!.id}"] .collection-id`).textContent()).toBe(scratch!.id)

    // A bad id is refused by the server, said in the dialog, and nothing is made.
    await page.getByRole('button', { name: 'New collection' }).click()
    await create.getByLabel(/^Id/).fill('dup')
    await create.getByRole('button', { name: 'Create collection' }).click()
    await expect.poll(() => create.isVisible()).toBe(false)
    await page.getByRole('button', { name: 'New collection' }).click()
    await create.getByLabel(/^Id/).fill('dup')
    await create.getByRole('button', { name: 'Create collection' }).click()
    await expect.poll(() => create.getByRole('alert').textContent()).toMatch(/already exists/)
    rig.takeErrors() // the 409, reported by Chromium on the console
    await page.keyboard.press('Escape')
    await expect.poll(() => create.isVisible()).toBe(false)

    await screenshots(rig, page, 'collections')

    // Rename.
    await page.getByRole('button', { name: 'Rename Groceries' }).click()
    const rename = page.getByRole('dialog', { name: 'Rename “Groceries”' })
    await rename.getByLabel('New name').fill('Weekly groceries')
    await rename.getByRole('button', { name: 'Save name' }).click()
    await expect.poll(() => page.getByRole('link', { name: 'Weekly groceries' }).count()).toBe(1)
    expect((await api.call<{ name: string }>('GET', 'collections/groceries')).body.name).toBe('Weekly groceries')

    // Delete, with records, a member and an invitation in it: the dialog names them and wants the id typed.
    for (const id of ['milk', 'eggs']) expect((await api.call('POST', 'collections/groceries/records', { id, data: { qty: 1 } })).status).toBe(201)
    const friend = await newUser(rig.url, newEmail('friend'))
    expect((await api.call('POST', 'collections/groceries/members', { userId: friend.userId, role: 'writer' })).status).toBe(201)
    expect((await api.call('POST', 'invitations', { collectionId: 'groceries', email: newEmail('later'), role: 'reader' })).status).toBe(201)
    await page.getByRole('button', { name: 'Delete Weekly groceries' }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete “Weekly groceries”?' })
    await expect.poll(() => confirm.locator('ul.loss').textContent()).toContain('2 records')
    const loss = await confirm.locator('ul.loss').textContent()
    expect(loss).toContain('the access of 1 other member')
    expect(loss).toContain('1 pending invitation')
    expect(await confirm.textContent()).toContain('groceries')
    await screenshots(rig, page, 'collections-delete')
    const deleteButton = confirm.getByRole('button', { name: 'Delete collection' })
    expect(await deleteButton.isDisabled()).toBe(true)
    // Focus waits in the confirmation field.
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).toBe('confirm-id')
    await page.keyboard.type('grocerie')
    expect(await deleteButton.isDisabled()).toBe(true)
    await page.keyboard.type('s')
    expect(await deleteButton.isDisabled()).toBe(false)
    await deleteButton.click()
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Deleted collection “Weekly groceries”')
    expect(await page.getByRole('link', { name: 'Weekly groceries' }).count()).toBe(0)
    expect((await api.call('GET', 'collections/groceries')).status).toBe(404)

    // An empty collection goes with one click, no typing.
    await page.getByRole('button', { name: 'Delete Scratch' }).click()
    const confirmScratch = page.getByRole('dialog', { name: 'Delete “Scratch”?' })
    await expect.poll(() => confirmScratch.locator('ul.loss').textContent()).toContain('0 records')
    expect(await confirmScratch.getByLabel(/type the id/).count()).toBe(0)
    await confirmScratch.getByRole('button', { name: 'Delete collection' }).click()
    await expect.poll(() => page.getByRole('link', { name: 'Scratch' }).count()).toBe(0)
    expect((await api.call('GET', `collections/${scratch!.id}`)).status).toBe(404)
    // "Keep it" kept the other one.
    await page.getByRole('button', { name: 'Delete dup' }).click()
    await page.getByRole('dialog', { name: 'Delete “dup”?' }).getByRole('button', { name: 'Keep it' }).click()
    expect((await api.call('GET', 'collections/dup')).status).toBe(200)
    rig.takeErrors() // the 404s above were the test's own
  })

  it('lists shared collections apart, with the role, and without owner actions', async () => {
    const page = await rig.open()
    const email = newEmail('reader')
    await signUpOnPage(page, email)
    const me = await apiAs(rig.url, email)
    const other = await newUser(rig.url, newEmail('sharer'))
    expect((await other.call('POST', 'collections', { id: 'recipes', name: 'Recipes' })).status).toBe(201)
    expect((await other.call('POST', 'collections/recipes/members', { userId: me.userId, role: 'reader' })).status).toBe(201)
    await page.reload()
    const shared = page.getByTestId('collections-shared')
    await expect.poll(() => shared.getByRole('link', { name: 'Recipes' }).count(), { timeout: 10_000 }).toBe(1)
    expect(await shared.locator('[data-collection="recipes"] .badge.role').textContent()).toBe('reader')
    expect(await page.getByRole('button', { name: 'Rename Recipes' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Delete Recipes' }).count()).toBe(0)
    expect(await page.getByTestId('collections-owned').count()).toBe(0)

    // Its owner deletes it: it leaves the list as it happens, without a reload.
    expect((await other.call('DELETE', 'collections/recipes')).status).toBe(200)
    await expect.poll(() => page.getByRole('link', { name: 'Recipes' }).count(), { timeout: 10_000 }).toBe(0)
    expect(await page.getByRole('heading', { name: 'No collections yet' }).count()).toBe(1)
  })
})
