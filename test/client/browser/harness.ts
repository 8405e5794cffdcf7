/**
 * Shared setup of the client's browser tests: the client page (client.page.ts)
 * served on an origin of its own, a Roost server on another that allows it by
 * CORS, and Chromium.
 */
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { bundle, callPage, launchBrowser, servePage, type PageServer, type TestBrowser } from '../../helpers/browser.js'
import type { TestBackend } from '../../helpers/backends.js'
import { startServer, type TestServer } from '../../helpers/server.js'

const entry = fileURLToPath(new URL('./client.page.ts', import.meta.url))

export interface ClientPageRig {
  server: TestServer
  pages: PageServer
  browser: TestBrowser
  /** Opens a tab on the client page (closed by `closeTabs`). */
  openTab(): Promise<Page>
  closeTabs(): Promise<void>
  close(): Promise<void>
}

export async function clientPageRig(backend: TestBackend): Promise<ClientPageRig> {
  const pages = await servePage(await bundle(entry))
  const tabs: Page[] = []
  let server: TestServer | undefined
  let browser: TestBrowser | undefined
  try {
    // Only the page's origin may call the server from a browser: what a deployment configures.
    server = await startServer(backend, { origins: [new URL(pages.url).origin] })
    browser = await launchBrowser()
  } catch (error) {
    await server?.close()
    await pages.close()
    throw error
  }
  const rig: ClientPageRig = {
    server,
    pages,
    browser,
    async openTab() {
      const tab = await rig.browser.openPage(pages.url)
      tabs.push(tab)
      return tab
    },
    async closeTabs() {
      for (const tab of tabs.splice(0)) {
        if (tab.isClosed()) continue
        // Close the client first: its socket and Web Lock go with it, not with the next test's tabs.
        await callPage(tab, 'closeClient').catch(() => undefined)
        await tab.close()
      }
    },
    async close() {
      await rig.closeTabs()
      await rig.browser.close()
      await rig.server.close()
      await pages.close()
    }
  }
  return rig
}

/** Console errors Chromium logs by itself for requests that failed while the test took the network away. */
export const isNetworkNoise = (line: string) => /net::ERR_[A-Z_]+|WebSocket connection to '[^']+' failed/.test(line)

/**
 * Chromium logs every answer with an error status. The first sync of a new
 * collection finds it missing (404) before creating it: expected, and the
 * only error status these tests cause on purpose.
 */
export const isMissingCollectionNoise = (line: string) => line.endsWith('Failed to load resource: the server responded with a status of 404 (Not Found)')

/** The socket.io connections the server holds now. */
export const socketCount = (server: TestServer): number => (server.app.io as { of(name: string): { sockets: Map<string, unknown> } }).of('/').sockets.size
