import { expect, it } from 'vitest'
import { apiAs } from './api.js'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, signUpOnPage } from './harness.js'

interface MemberRow {
  userId: string
  email: string
  role: string
}

/**
 * Sharing across two people, each in a browser of their own: A invites B by
 * e-mail on the members tab; B sees the invitation, accepts and sees the
 * collection; A changes B's role and removes B. Each step checked through
 * the REST API.
 */
describeDashboard('dashboard sharing (Chromium, SQLite, two browsers)', (rig) => {
  it('invites by e-mail, the invitee accepts in another browser, the owner changes the role and removes them', async () => {
    const emailA = newEmail('alice')
    const emailB = newEmail('bob')
    const pageA = await rig.open()
    await signUpOnPage(pageA, emailA)
    const apiA = await apiAs(rig.url, emailA)

    // A makes a collection on the page and opens its members tab.
    await pageA.getByRole('button', { name: 'New collection' }).click()
    const create = pageA.getByRole('dialog', { name: 'New collection' })
    await create.getByLabel('Name').fill('Trip to Lisbon')
    await create.getByLabel(/^Id/).fill('trip')
    await create.getByRole('button', { name: 'Create collection' }).click()
    await pageA.getByRole('link', { name: 'Trip to Lisbon' }).click()
    await pageA.getByRole('link', { name: 'Members' }).click()
    await expect.poll(() => pageA.url()).toMatch(/#\/c\/trip\/members$/)
    const membersA = pageA.getByTestId('members')
    await expect.poll(() => membersA.locator('[data-member]').count()).toBe(1)

    // A invites B (not signed up yet) as a reader, and an extra address that A then revokes.
    await pageA.getByLabel('E-mail').fill(emailB)
    await pageA.getByLabel('Role', { exact: true }).selectOption('reader')
    await pageA.getByRole('button', { name: 'Send invitation' }).click()
    await expect.poll(() => pageA.getByTestId('notice').textContent()).toContain(`Invitation sent to ${emailB}`)
    const stranger = newEmail('stranger')
    await pageA.getByLabel('E-mail').fill(stranger)
    await pageA.getByRole('button', { name: 'Send invitation' }).click()
    const sent = pageA.getByTestId('sent-invitations')
    await expect.poll(() => sent.locator('[data-invitation]').count()).toBe(2)
    await pageA.getByRole('button', { name: `Revoke the invitation to ${stranger}` }).click()
    await expect.poll(() => sent.locator('[data-invitation]').count()).toBe(1)
    const pending = await apiA.call<{ data: Array<{ inviteeEmail: string; role: string }> }>('GET', 'invitations?collectionId=trip&status=pending')
    expect(pending.body.data.map((i) => [i.inviteeEmail, i.role])).toEqual([[emailB, 'reader']])
    await screenshots(rig, pageA, 'members')

    // B, in a browser of their own, signs up and finds the invitation (counted in the menu too).
    const second = await rig.second()
    const pageB = await rig.open(second)
    await signUpOnPage(pageB, emailB)
    await expect.poll(() => pageB.getByRole('link', { name: /^Invitations.*1 pending/ }).count(), { timeout: 10_000 }).toBe(1)
    await expect.poll(() => pageB.getByRole('link', { name: 'Review it' }).count()).toBe(1)
    await pageB.getByRole('link', { name: 'Review it' }).click()
    const card = pageB.locator('[data-invitation="trip"]')
    await expect.poll(() => card.count()).toBe(1)
    expect(await card.getByRole('heading').textContent()).toBe('Trip to Lisbon')
    expect(await card.locator('.badge.role').textContent()).toBe('reader')
    expect(await card.textContent()).toMatch(/Expires\s*in (6|7) days/)
    await screenshots(rig, pageB, 'invitations')
    await pageB.getByRole('button', { name: 'Accept the invitation to Trip to Lisbon' }).click()
    await expect.poll(() => pageB.getByTestId('notice').textContent()).toContain('You joined “Trip to Lisbon” as reader')
    expect(await card.count()).toBe(0)
    await pageB.getByRole('link', { name: 'your collections' }).click()
    const sharedB = pageB.getByTestId('collections-shared')
    await expect.poll(() => sharedB.getByRole('link', { name: 'Trip to Lisbon' }).count()).toBe(1)
    expect(await sharedB.locator('[data-collection="trip"] .badge.role').textContent()).toBe('reader')
    const apiB = await apiAs(rig.url, emailB)
    expect((await apiB.call('GET', 'collections/trip')).status).toBe(200)

    // A sees B among the members without reloading (the realtime member event), and makes them a writer.
    await expect.poll(() => membersA.locator('[data-member]').count(), { timeout: 10_000 }).toBe(2)
    await pageA.getByLabel(`Role of ${emailB}`).selectOption('writer')
    // Picking is not yet giving: nothing changes until Save.
    expect((await apiA.call<{ data: MemberRow[] }>('GET', 'collections/trip/members')).body.data.find((m) => m.email === emailB)?.role).toBe('reader')
    await pageA.getByRole('button', { name: `Save the role of ${emailB}` }).click()
    await expect.poll(() => pageA.getByTestId('notice').textContent()).toContain(`${emailB} is now a writer`)
    await expect.poll(() => pageA.evaluate(() => document.activeElement?.tagName)).toBe('SELECT')
    const members = await apiA.call<{ data: MemberRow[] }>('GET', 'collections/trip/members')
    expect(members.body.data.find((m) => m.email === emailB)?.role).toBe('writer')
    await rig.screenshot(pageA, 'members-shared')

    // B, as a writer, sees the members but cannot manage them.
    await pageB.goto(`${rig.url}#/c/trip/members`)
    await expect.poll(() => pageB.getByTestId('members').locator('[data-member]').count(), { timeout: 10_000 }).toBe(2)
    expect(await pageB.getByRole('button', { name: /^Remove/ }).count()).toBe(0)
    expect(await pageB.getByRole('button', { name: 'Send invitation' }).count()).toBe(0)
    expect(await pageB.getByRole('button', { name: 'Leave' }).count()).toBe(1)

    // B goes back to the list; A removes B, after a confirmation; B's list drops it as it happens (no reload).
    await pageB.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collections' }).click()
    await expect.poll(() => sharedB.getByRole('link', { name: 'Trip to Lisbon' }).count()).toBe(1)
    await pageA.getByRole('button', { name: `Remove ${emailB}` }).click()
    const confirm = pageA.getByRole('dialog', { name: `Remove ${emailB}?` })
    await confirm.getByRole('button', { name: 'Remove member' }).click()
    await expect.poll(() => pageA.getByTestId('notice').textContent()).toContain(`Removed ${emailB}`)
    await expect.poll(() => membersA.locator('[data-member]').count()).toBe(1)
    expect((await apiB.call('GET', 'collections/trip')).status).toBe(404)
    await expect.poll(() => pageB.getByRole('link', { name: 'Trip to Lisbon' }).count(), { timeout: 10_000 }).toBe(0)
    // A is the last owner: the page says so rather than letting A try to leave.
    expect(await pageA.getByRole('button', { name: 'Leave' }).isDisabled()).toBe(true)
    rig.takeErrors() // B's page may have asked for the collection once more as it went
  })

  it('lets an invitee decline, and a member leave after a confirmation', async () => {
    const emailA = newEmail('owner')
    const emailB = newEmail('leaver')
    const pageB = await rig.open()
    await signUpOnPage(pageB, emailB)
    const apiB = await apiAs(rig.url, emailB)
    const signUp = await fetch(`${rig.url}users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: emailA, password: 'a long enough password' }) })
    expect(signUp.status).toBe(201)
    const apiA = await apiAs(rig.url, emailA)
    expect((await apiA.call('POST', 'collections', { id: 'club', name: 'Book club' })).status).toBe(201)
    expect((await apiA.call('POST', 'collections/club/members', { userId: apiB.userId, role: 'admin' })).status).toBe(201)

    // An invitation B declines: gone from B's list, and the server has it declined.
    expect((await apiA.call('POST', 'collections', { id: 'spam', name: 'Not for you' })).status).toBe(201)
    const invited = await apiA.call<{ id: string }>('POST', 'invitations', { collectionId: 'spam', email: emailB, role: 'writer' })
    expect(invited.status).toBe(201)
    await pageB.goto(`${rig.url}#/invitations`)
    await expect.poll(() => pageB.locator('[data-invitation="spam"]').count(), { timeout: 10_000 }).toBe(1)
    await pageB.getByRole('button', { name: 'Decline the invitation to Not for you' }).click()
    await expect.poll(() => pageB.getByTestId('notice').textContent()).toContain('Declined the invitation to “Not for you”')
    expect(await pageB.locator('[data-invitation="spam"]').count()).toBe(0)
    await expect.poll(() => pageB.getByRole('heading', { name: 'No pending invitations' }).count()).toBe(1)
    const declined = await apiA.call<{ data: Array<{ id: string; status: string }> }>('GET', 'invitations?collectionId=spam')
    expect(declined.body.data.find((i) => i.id === invited.body.id)?.status).toBe('declined')
    expect((await apiB.call('GET', 'collections/spam')).status).toBe(404)

    await pageB.goto(`${rig.url}#/c/club/members`)
    await expect.poll(() => pageB.getByTestId('members').locator('[data-member]').count(), { timeout: 10_000 }).toBe(2)
    // An admin cannot change or remove an owner.
    expect(await pageB.getByLabel(`Role of ${emailA}`).count()).toBe(0)
    await pageB.getByRole('button', { name: 'Leave' }).click()
    await pageB.getByRole('dialog', { name: 'Leave this collection?' }).getByRole('button', { name: 'Leave collection' }).click()
    await expect.poll(() => pageB.url()).toMatch(/#\/$/)
    await expect.poll(() => pageB.getByTestId('notice').textContent()).toContain('You left club')
    expect((await apiB.call('GET', 'collections/club')).status).toBe(404)
    const members = await apiA.call<{ data: MemberRow[] }>('GET', 'collections/club/members')
    expect(members.body.data.map((m) => m.email)).toEqual([emailA])
  })
})
