import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserSkipReason, bundle, callPage, launchBrowser, servePage, type PageServer, type TestBrowser } from './browser.js'

/** The harness itself: what later browser tests rely on. */
describe.skipIf(browserSkipReason())('browser test harness', () => {
  let dir: string
  let browser: TestBrowser
  const servers: PageServer[] = []

  const serveEntry = async (name: string, source: string) => {
    const entry = join(dir, name)
    await writeFile(entry, source)
    const server = await servePage(await bundle(entry))
    servers.push(server)
    return server
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'roost-harness-'))
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    for (const server of servers) await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves a bundled entry on a secure 127.0.0.1 origin and calls the functions it puts on window', async () => {
    const server = await serveEntry('calls.ts', `
      const add = async (a: number, b: number) => a + b
      Object.assign(window, { add, facts: () => ({ secure: isSecureContext, locks: typeof navigator.locks, idb: typeof indexedDB, origin: location.origin }) })
    `)
    const page = await browser.openPage(server.url)
    expect(await callPage(page, 'add', 2, 3)).toBe(5)
    expect(await callPage(page, 'facts')).toEqual({ secure: true, locks: 'object', idb: 'object', origin: new URL(server.url).origin })
    await expect(callPage(page, 'missing')).rejects.toThrow('The page has no window.missing()')
    await page.close()
  })

  it('brings page errors and console errors into the test, and rejects a call that throws with its message', async () => {
    const server = await serveEntry('errors.ts', `
      Object.assign(window, {
        fail: async () => { throw new Error('thrown in the page') },
        misbehave: () => { console.error('logged in the page'); setTimeout(() => { throw new Error('uncaught in the page') }) }
      })
    `)
    const page = await browser.openPage(server.url)
    await expect(callPage(page, 'fail')).rejects.toThrow('thrown in the page')
    await callPage(page, 'misbehave')
    // The two arrive as events from the browser: wait for them (no time limit asserted beyond the poll's patience).
    await expect.poll(() => browser.errors.length, { timeout: 20_000 }).toBe(2)
    const errors = browser.errors.splice(0)
    expect(errors.find((line) => line.startsWith('[console.error]'))).toContain('logged in the page')
    expect(errors.find((line) => line.startsWith('[page error]'))).toContain('uncaught in the page')
    await page.close()
  })

  it('fails openPage when the bundle throws while loading', async () => {
    const server = await serveEntry('broken.ts', `throw new Error('broken bundle')\n`)
    await expect(browser.openPage(server.url)).rejects.toThrow(/bundle failed to load: Error: broken bundle/)
    // The load failure is also reported as a console error.
    expect(browser.errors.splice(0).join('\n')).toContain('broken bundle')
    for (const page of browser.context.pages()) await page.close()
  })
})
