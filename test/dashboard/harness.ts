/**
 * Shared setup of the dashboard's browser tests: a Roost server serving the
 * built page (public/, built by `npm run build:dashboard`, which `npm test`
 * runs first), and Debian's Chromium driven by playwright-core. Every request
 * any page makes is recorded; `outsideRequests()` lists those that left
 * this machine (none may). Screenshots go to test-artifacts/dashboard/.
 * `describeDashboard` wraps a test file's describe block in that lifecycle.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest'
import type { Overrides } from '../../src/app.js'
import { browserSkipReason, launchBrowser, type TestBrowser } from '../helpers/browser.js'
import { sqlite, type TestBackend } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
export const PUBLIC_DIR = join(root, 'public')
export const ARTIFACTS = join(root, 'test-artifacts', 'dashboard')

export const PASSWORD = 'a long enough password'

export interface DashboardRig {
  server: TestServer
  /** The page's address (the server's own origin). */
  url: string
  /** The first browser (one profile); `second` is another person's, with a profile of its own. */
  browser: TestBrowser
  second(): Promise<TestBrowser>
  /**
   * Opens the dashboard in a new tab of `browser` (default: the first) and waits until it has rendered.
   * The rig keeps the page until `closePages()` (or `close()`).
   */
  open(browser?: TestBrowser, hash?: string): Promise<Page>
  /** Closes every page `open()` opened since the last call, in whichever browser. */
  closePages(): Promise<void>
  /** Every URL requested by any page so far (HTTP and WebSocket). */
  requests: string[]
  outsideRequests(): string[]
  /** Screenshots of the pages still open, as `<prefix>-<n>.png` in the artifacts folder (when a test failed). */
  screenshotOpenPages(prefix: string): Promise<string[]>
  screenshot(page: Page, name: string): Promise<string>
  /** Page errors and console errors of both browsers since the last call (and clears them). */
  takeErrors(): string[]
  close(): Promise<void>
}

const isLocal = (url: string) => {
  const { protocol, hostname } = new URL(url)
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]'
}

export async function dashboardRig(backend: TestBackend, overrides: Overrides = {}): Promise<DashboardRig> {
  if (!existsSync(join(PUBLIC_DIR, 'index.html'))) {
    throw new Error(`${PUBLIC_DIR}/index.html is missing: build the page first (npm run build:dashboard; npm test does it)`)
  }
  await mkdir(ARTIFACTS, { recursive: true })
  const server = await startServer(backend, { public: PUBLIC_DIR, ...overrides })
  const requests: string[] = []
  const browsers: TestBrowser[] = []
  const pages: Page[] = []
  // The page asks for the server's stats once after sign-in to learn whether to show "Server" (state/operator.ts):
  // everyone but operators gets a 403, which Chromium reports on the console. Those reports, and only as many, are expected.
  let refusedStats = 0
  const watch = async (context: BrowserContext) => {
    context.on('request', (request) => requests.push(request.url()))
    context.on('response', (response) => {
      if ((response.status() === 403 || response.status() === 404) && new URL(response.url()).pathname === '/server-stats') refusedStats++
    })
    context.on('page', (page) => page.on('websocket', (socket) => requests.push(socket.url())))
    // Anything bound elsewhere is refused before it leaves (and recorded above, so the test fails).
    await context.route(
      (url) => !isLocal(url.href),
      (route) => route.abort('blockedbyclient')
    )
  }
  let first: TestBrowser
  try {
    first = await launchBrowser()
    browsers.push(first)
    await watch(first.context)
  } catch (error) {
    await server.close()
    throw error
  }
  const url = `${server.url}/`
  const rig: DashboardRig = {
    server,
    url,
    browser: first,
    requests,
    async second() {
      const browser = await launchBrowser()
      browsers.push(browser)
      await watch(browser.context)
      return browser
    },
    async open(browser = first, hash = '#/') {
      const page = await browser.context.newPage()
      pages.push(page)
      page.on('websocket', (socket) => requests.push(socket.url()))
      await page.goto(url + hash)
      await page.waitForFunction(() => (window as { __roostDashboardReadyMs?: number }).__roostDashboardReadyMs !== undefined)
      return page
    },
    async closePages() {
      for (const page of pages.splice(0)) await page.close()
    },
    async screenshotOpenPages(prefix) {
      const taken: string[] = []
      for (const [index, page] of pages.entries()) {
        if (page.isClosed()) continue
        const path = join(ARTIFACTS, `${prefix}-${index + 1}.png`)
        await page.screenshot({ path, fullPage: true }).then(
          () => taken.push(path),
          () => undefined
        )
      }
      return taken
    },
    outsideRequests: () => requests.filter((request) => !isLocal(request)),
    async screenshot(page, name) {
      const path = join(ARTIFACTS, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    },
    takeErrors() {
      return browsers
        .flatMap((browser) => browser.errors.splice(0))
        .filter((error) => {
          if (refusedStats > 0 && /Failed to load resource: the server responded with a status of 40[34]/.test(error)) {
            refusedStats--
            return false
          }
          return true
        })
    },
    async close() {
      await rig.closePages()
      for (const browser of browsers.splice(0)) await browser.close()
      await server.close()
    }
  }
  return rig
}

export interface DashboardSuiteOptions {
  /** Server settings for this file's server (e.g. `operators`). */
  overrides?: Overrides
  /**
   * Whether every test must end with no page or console errors (default true). Off where the
   * tests themselves take and judge the errors at the points they expect some (records: offline).
   */
  noErrorsAfterEach?: boolean
}

/**
 * A describe block of dashboard browser tests on SQLite: skipped without Chromium; one rig for
 * the file (started before the first test, closed after the last); after each test, the pages
 * it opened are closed and no request may have left this machine, nor (by default) any error
 * have been reported. `body` gets the rig: the same object throughout, filled in before the
 * first test runs, so it may be used in tests and hooks but not while the body registers them.
 */
export function describeDashboard(title: string, body: (rig: DashboardRig) => void, options: DashboardSuiteOptions = {}): void {
  describe.skipIf(browserSkipReason())(title, () => {
    // A stand-in handed out now, given the real rig's fields in beforeAll (its methods are closures, not `this`-bound).
    const rig = {} as DashboardRig
    let started = false
    beforeAll(async () => {
      Object.assign(rig, await dashboardRig(sqlite, options.overrides))
      started = true
    })
    afterEach(async (context) => {
      if (!started) return
      // What each page showed when a test failed, for a failure seen only in CI.
      if (context.task.result?.state === 'fail') {
        const name = `FAILED-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`
        const taken = await rig.screenshotOpenPages(name)
        console.warn(`Dashboard test failed: screenshots of its pages in ${taken.join(', ') || '(none)'}; page errors: ${JSON.stringify(rig.takeErrors())}`)
      }
      await rig.closePages()
      if (options.noErrorsAfterEach !== false) expect(rig.takeErrors()).toEqual([])
      expect(rig.outsideRequests()).toEqual([])
    })
    afterAll(async () => {
      if (started) await rig.close()
    })
    body(rig)
  })
}

let counter = 0
export const newEmail = (who = 'person') => `${who}-${process.pid}-${Date.now().toString(36)}-${counter++}@example.com`

/** Signs up through the page's own form and waits for the collections view. */
export async function signUpOnPage(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto(page.url().replace(/#.*$/, '') + '#/signup')
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect.poll(() => page.locator('[data-testid="sync-status"]').count(), { timeout: 15_000 }).toBe(1)
}

/** Signs in through the page's form. */
export async function signInOnPage(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto(page.url().replace(/#.*$/, '') + '#/signin')
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect.poll(() => page.locator('[data-testid="sync-status"]').count(), { timeout: 15_000 }).toBe(1)
  // Signed in and moved on from the sign-in page: a navigation by the test now stays where it goes.
  await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).not.toBe('#/signin')
}
