import type { Page } from 'playwright-core'
import type { DashboardRig } from './harness.js'

/** A screenshot at the page's size, and another at a phone's (375 × 800, `<name>-375`); the page's size is restored after. */
export async function screenshots(rig: DashboardRig, page: Page, name: string): Promise<void> {
  await rig.screenshot(page, name)
  const size = page.viewportSize()
  await page.setViewportSize({ width: 375, height: 800 })
  await rig.screenshot(page, `${name}-375`)
  if (size) await page.setViewportSize(size)
}
