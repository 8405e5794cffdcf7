import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { screenshots } from './shots.js'
import { describeDashboard, newEmail, signUpOnPage } from './harness.js'
import { signInRest, signUpRest } from './rest.js'

interface WireLock {
  holder: string
  userId: string
  token: number
}

/** The locks tab: another member's lock and open batch show with who holds them; the owner breaks the lock and the server no longer has it. */
describeDashboard('dashboard locks (Chromium, SQLite)', (rig) => {
  it("shows another member's lock and batch; the owner breaks the lock", async () => {
    const page = await rig.open()
    const ownerEmail = newEmail('owner')
    await signUpOnPage(page, ownerEmail)
    const owner = await signInRest(rig.url, ownerEmail)
    const writer = await signUpRest(rig.url, newEmail('writer'))
    const collectionId = `locked-${Date.now().toString(36)}`
    await owner.call('POST', 'collections', { id: collectionId, name: 'Migrations' })
    await owner.call('POST', `collections/${collectionId}/members`, { userId: writer.userId, role: 'writer' })

    await page.goto(`${rig.url}#/c/${collectionId}/locks`)
    await expect.poll(() => page.getByTestId('no-locks').count(), { timeout: 15_000 }).toBe(1)

    // The writer's device takes an exclusive lock and stages a batch: the tab shows both (lock events and its polling).
    const lock = await writer.call<WireLock>('POST', `collections/${collectionId}/locks`, { holder: 'writer-laptop', mode: 'exclusive', ttlSeconds: 600 })
    const batchId = randomUUID()
    await writer.call('POST', 'batches', { id: batchId, ttl: 900 })
    await writer.call('POST', 'batches', { id: batchId, operations: [{ op: 'put', collectionId, id: 'step-1', data: { sql: 'ALTER TABLE …' }, ifNotExists: true }] }, { 'x-service-method': 'append' })

    const locks = page.getByTestId('locks')
    await expect.poll(() => locks.textContent(), { timeout: 15_000 }).toContain(writer.email)
    const text = (await locks.textContent()) ?? ''
    expect(text).toContain('writer-laptop')
    expect(text).toContain('exclusive')
    expect(text).toContain(String(lock.token))
    await expect.poll(() => page.getByTestId('batches').textContent(), { timeout: 15_000 }).toContain(writer.email)
    expect(await page.getByTestId('batches').textContent()).toContain(batchId)
    await screenshots(rig, page, 'locks')

    // Break, with a confirmation that names whose lock it is.
    await page.getByRole('button', { name: `Break the lock of ${writer.email} (writer-laptop)` }).click()
    const dialog = page.getByRole('dialog')
    expect(await dialog.textContent()).toContain(writer.email)
    await dialog.getByRole('button', { name: 'Break the lock' }).click()
    await expect.poll(() => page.getByTestId('no-locks').count(), { timeout: 15_000 }).toBe(1)
    expect(await writer.call<WireLock[]>('GET', `collections/${collectionId}/locks`)).toEqual([])
  }, 90_000)

  it('offers no Break to a member who is not an owner', async () => {
    const page = await rig.open()
    const writerEmail = newEmail('writer')
    await signUpOnPage(page, writerEmail)
    const writer = await signInRest(rig.url, writerEmail)
    const owner = await signUpRest(rig.url, newEmail('owner'))
    const collectionId = `shared-${Date.now().toString(36)}`
    await owner.call('POST', 'collections', { id: collectionId })
    await owner.call('POST', `collections/${collectionId}/members`, { userId: writer.userId, role: 'writer' })
    await owner.call('POST', `collections/${collectionId}/locks`, { holder: 'owner-desk', mode: 'exclusive', ttlSeconds: 600 })
    await page.goto(`${rig.url}#/c/${collectionId}/locks`)
    await expect.poll(() => page.getByTestId('locks').textContent(), { timeout: 15_000 }).toContain('owner-desk')
    expect(await page.getByRole('button', { name: /^Break/ }).count()).toBe(0)
  }, 60_000)
})
