/**
 * Browser tests: bundle a TS entry with esbuild, serve it on 127.0.0.1, drive
 * Debian's Chromium with playwright-core. The test runs in Node (vitest); the
 * code under test runs in the page, and the two talk through functions the
 * entry puts on `window` (see `callPage`).
 */
import { createReadStream, existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { build, type Message } from 'esbuild'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** Debian's Chromium; ROOST_CHROMIUM points elsewhere (another machine's build). */
export const CHROMIUM_PATH = process.env.ROOST_CHROMIUM || '/usr/bin/chromium'

const inCi = () => process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

/**
 * Why browser tests cannot run here, or undefined when they can. Without
 * Chromium, CI must fail (this throws, failing the test file) while a
 * developer's machine skips with the printed reason:
 * `describe.skipIf(browserSkipReason())('…', () => …)`.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined
  const reason = `${CHROMIUM_PATH} is missing (install Debian's chromium: apt-get install -y chromium)`
  if (inCi()) throw new Error(`Browser tests cannot run in CI: ${reason}`)
  console.warn(`Skipping browser tests: ${reason}`)
  return reason
}

const formatMessages = (messages: Message[]) =>
  messages
    .map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}${m.notes.map((n) => `\n  ${n.text}`).join('')}`)
    .join('\n')

/**
 * Bundles `entry` (a path) and everything it imports into one ESM script for
 * browsers. Fails when anything pulls in a Node built-in (esbuild cannot
 * resolve those for platform 'browser'): this is also the proof that the
 * bundled code is browser-safe.
 */
export async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent'
  }).catch((error: { errors?: Message[] }) => {
    throw new Error(`Bundling ${entry} for the browser failed:\n${error.errors ? formatMessages(error.errors) : String(error)}`)
  })
  const output = result.outputFiles[0]
  if (!output) throw new Error(`Bundling ${entry} produced no output`)
  return output.text
}

export interface PageServer {
  /** The page's address: http://127.0.0.1:<port>/ (a secure context for Chromium, so IndexedDB and Web Locks work). */
  url: string
  /** The temp folder served (index.html, bundle.js). */
  dir: string
  close(): Promise<void>
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8'
}

/** The page: loads bundle.js, then sets `window.__roostReady` to true (or to the load error's text). */
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>roost browser test</title></head>
<body><script type="module">
import('./bundle.js').then(
  () => { window.__roostReady = true },
  (error) => { window.__roostReady = String(error && error.stack || error); console.error('bundle.js failed to load:', error) }
)
</script></body></html>
`

/**
 * Serves `script` as /bundle.js under an HTML page at / from a temp folder,
 * on 127.0.0.1 and a free port. Every page of one server shares an origin,
 * so its IndexedDB databases and Web Locks.
 */
export async function servePage(script: string): Promise<PageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'roost-page-'))
  await writeFile(join(dir, 'index.html'), pageHtml)
  await writeFile(join(dir, 'bundle.js'), script)
  const files = new Map([
    ['/', 'index.html'],
    ['/index.html', 'index.html'],
    ['/bundle.js', 'bundle.js']
  ])
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    const file = files.get(path)
    if (!file) {
      // favicon.ico and the like: an empty answer, not a 404 that Chromium logs as a console error.
      response.writeHead(path === '/favicon.ico' ? 204 : 404).end()
      return
    }
    response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
    createReadStream(join(dir, file)).pipe(response)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    dir,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export interface TestBrowser {
  /** A persistent context: every page in it shares one profile (IndexedDB, Web Locks), and a reload keeps it. */
  context: BrowserContext
  userDataDir: string
  /** Page errors and console errors seen so far, in order (each also printed at once). */
  errors: string[]
  /** Opens a new tab on `url` and waits until its bundle has loaded (fails if it did not, or if the page is not a secure context). */
  openPage(url: string): Promise<Page>
  /** Reloads the page (a new document, same storage) and waits for its bundle again. */
  reloadPage(page: Page): Promise<void>
  /** Closes Chromium and removes the profile (unless it was given to launchBrowser). */
  close(): Promise<void>
}

export interface LaunchOptions {
  /** A profile folder to use (and keep): to relaunch Chromium on the same storage. Default: a fresh temp folder, removed on close. */
  userDataDir?: string
  /** More Chromium flags (the benchmark adds --enable-precise-memory-info). */
  args?: string[]
}

async function waitForBundle(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as { __roostReady?: unknown }).__roostReady !== undefined)
  const state = await page.evaluate(() => ({ ready: (window as { __roostReady?: unknown }).__roostReady, secure: window.isSecureContext }))
  if (state.ready !== true) throw new Error(`The test page's bundle failed to load: ${String(state.ready)}`)
  if (!state.secure) throw new Error(`${page.url()} is not a secure context: IndexedDB and Web Locks would not behave as in production`)
}

/**
 * Launches Debian's Chromium (headless) with a persistent profile. Flags keep
 * it from calling outside hosts; page errors and console errors/warnings are
 * printed with the page's URL and collected in `errors`.
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const ownDir = options.userDataDir === undefined
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'roost-chromium-')))
  const args = [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Timers and work in background tabs must not be throttled: tests drive several tabs at once.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows'
  ]
  if (process.getuid?.() === 0) args.push('--no-sandbox')
  args.push(...(options.args ?? []))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args })
  } catch (error) {
    if (ownDir) await rm(userDataDir, { recursive: true, force: true })
    throw error
  }
  const errors: string[] = []
  const report = (text: string) => {
    errors.push(text)
    console.error(text)
  }
  context.on('weberror', (webError) => {
    const error = webError.error()
    report(`[page error] ${webError.page()?.url() ?? '?'}: ${error.stack ?? error.message}`)
  })
  context.on('console', (message) => {
    const type = message.type()
    if (type === 'error') report(`[console.error] ${message.page()?.url() ?? '?'}: ${message.text()}`)
    else if (type === 'warning') console.warn(`[console.warn] ${message.page()?.url() ?? '?'}: ${message.text()}`)
  })
  // The persistent context opens with one blank tab; tests open their own.
  await Promise.all(context.pages().map((page) => page.close()))
  return {
    context,
    userDataDir,
    errors,
    async openPage(url) {
      const page = await context.newPage()
      await page.goto(url)
      await waitForBundle(page)
      return page
    },
    async reloadPage(page) {
      await page.reload()
      await waitForBundle(page)
    },
    async close() {
      await context.close()
      if (ownDir) await rm(userDataDir, { recursive: true, force: true })
    }
  }
}

/** Arguments for the page: JSON values (undefined in an array becomes null, in an object it is dropped). */
export type PageValue = null | undefined | boolean | number | string | PageValue[] | { [key: string]: PageValue }

/**
 * Calls `window[name](...args)` in the page and returns what its promise
 * resolves to. An exception in the page rejects here with the page's message
 * and stack. Entries expose their functions by assigning them to `window`.
 */
export async function callPage<T = unknown>(page: Page, name: string, ...args: PageValue[]): Promise<T> {
  // Arguments travel as JSON text: it keeps Playwright's deep generic typing of evaluate out of the way.
  const result: unknown = await page.evaluate(async (call: string) => {
    const { name, args } = JSON.parse(call) as { name: string; args: unknown[] }
    const fn = (window as unknown as Record<string, unknown>)[name]
    if (typeof fn !== 'function') throw new Error(`The page has no window.${name}()`)
    return (await (fn as (...a: unknown[]) => unknown)(...args)) as unknown
  }, JSON.stringify({ name, args }))
  return result as T
}
