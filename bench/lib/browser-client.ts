/**
 * The client library in Chromium for W6: the page (bench/browser/initial-sync.page.ts)
 * bundled and served on an origin of its own, and Chromium driving it, through
 * the browser tests' harness (test/helpers/browser.ts). The page's origin must
 * be known before the Roost targets start, since they allow it by CORS (as a
 * deployment configures `origins`): `benchPageOrigin()` starts the page server
 * once per benchmark process, and it is closed with the benchmark's cleanup.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bundle, callPage, CHROMIUM_PATH, launchBrowser, servePage, type PageServer, type TestBrowser } from '../../test/helpers/browser.js'
import type { InitialSyncArgs, InitialSyncResult } from '../browser/initial-sync.page.js'
import { onCleanup } from './children.js'

const entry = fileURLToPath(new URL('../browser/initial-sync.page.ts', import.meta.url))

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumProblem(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (install Debian's chromium: apt-get install -y chromium)`
}

let pageServer: Promise<PageServer> | undefined

/** Bundles and serves the page (once): its origin, for the Roost targets' CORS_ORIGINS. */
export async function benchPageOrigin(): Promise<string> {
  if (!pageServer) {
    pageServer = bundle(entry).then(servePage)
    const started = pageServer
    onCleanup(async () => {
      const server = await started.catch(() => undefined)
      await server?.close()
    })
  }
  return new URL((await pageServer).url).origin
}

/** Chromium with the bench page's origin: one fresh tab per measurement. */
export class BenchBrowser {
  private constructor(
    private readonly browser: TestBrowser,
    private readonly page: PageServer,
    private readonly unregister: () => void
  ) {}

  static async launch(): Promise<BenchBrowser> {
    if (!pageServer) throw new Error('benchPageOrigin() must run before the Roost targets start (they allow its origin)')
    const page = await pageServer
    // Precise performance.memory: without the flag Chromium buckets and caches the heap figures.
    const browser = await launchBrowser({ args: ['--enable-precise-memory-info'] })
    const unregister = onCleanup(() => browser.close())
    return new BenchBrowser(browser, page, unregister)
  }

  /** W6 in a new tab, which is closed afterwards (the page deletes its database). */
  async initialSync(args: InitialSyncArgs): Promise<InitialSyncResult> {
    const tab = await this.browser.openPage(this.page.url)
    try {
      return await callPage<InitialSyncResult>(tab, 'initialSync', { ...args })
    } finally {
      await tab.close()
    }
  }

  async close(): Promise<void> {
    this.unregister()
    await this.browser.close()
  }
}
