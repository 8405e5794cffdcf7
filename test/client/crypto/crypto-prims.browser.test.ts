/**
 * Issue 16's key primitives in a real headless Chromium: collection keys
 * wrapped with HPKE Auth mode by a manager's key pair, and the passphrase
 * copy of the account secret (Argon2id in WebAssembly), work there, Node
 * and Chromium open each other's, the documented worked examples open
 * there, failures have the same error types (a wrap by another key than
 * the named wrapper's is refused there too); and the recovery QR code, shown as an <img> and read back from a
 * canvas with jsQR, decodes to the exported phrase. A screenshot of the code
 * is saved as test-artifacts/recovery-qr.png (ignored by git).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountKeys, recoveryPhrase, type AccountKeys } from '../../../src/client/crypto/account-keys.js'
import { KeyUnwrapError, unwrapCollectionKey, wrapCollectionKey, type WrappedKey } from '../../../src/client/crypto/key-wrap.js'
import { ARGON2_BOUNDS, unwrapSecretWithPassphrase, wrapSecretWithPassphrase, type PassphraseWrap } from '../../../src/client/crypto/passphrase.js'
import { QR_MODULE_PIXELS, QR_QUIET_ZONE } from '../../../src/client/crypto/recovery-qr.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'
import { browserSkipReason, bundle, callPage, launchBrowser, servePage, type PageServer, type PageValue, type TestBrowser } from '../../helpers/browser.js'

const entry = fileURLToPath(new URL('./crypto-prims.page.ts', import.meta.url))
const artifacts = new URL('../../../test-artifacts/', import.meta.url)
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const ctx = { collectionId: 'notes', epoch: 2 }
const userId = 'a1e0c0de-0000-4000-8000-000000000001'
const managerId = 'ca501c0d-0000-4000-8000-000000000003'
const cheap = { m: ARGON2_BOUNDS.m.min, t: 1, p: 1 }
type Failure = { name: string; reason?: string; isKeyUnwrapError: boolean; isWrongPassphrase: boolean }

async function workedExample<T>(marker: string): Promise<T> {
  const markdown = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
  const block = fencedBlocks(markdown, 'docs/ENCRYPTION.md').find((b) => b.marker === `<!-- worked-example: ${marker} -->`)
  return JSON.parse(block!.code) as T
}

describe.skipIf(browserSkipReason())('key wrapping, passphrase copy and recovery QR code in Chromium', () => {
  let browser: TestBrowser
  let server: PageServer
  let page: Page
  let account: AccountKeys
  /** The manager who wraps (on either side); `other` stands for a key pair the operator holds. */
  let manager: AccountKeys
  let other: AccountKeys
  const me = () => ({ userId, keyVersion: 1, privateKeyHex: hex(account.privateKey), publicKeyHex: hex(account.publicKey) })
  const recipient = () => ({ userId, keyVersion: 1, publicKeyHex: hex(account.publicKey) })
  const sender = () => ({ userId: managerId, privateKeyHex: hex(manager.privateKey), publicKeyHex: hex(manager.publicKey) })
  const from = () => ({ userId: managerId, publicKeyHex: hex(manager.publicKey) })

  beforeAll(async () => {
    ;[account, manager, other] = await Promise.all([createAccountKeys(), createAccountKeys(), createAccountKeys()])
    server = await servePage(await bundle(entry))
    browser = await launchBrowser()
    page = await browser.openPage(server.url)
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  describe('wrapped collection keys', () => {
    it('unwraps the worked example of docs/ENCRYPTION.md, from its documented sender', async () => {
      const ex = await workedExample<{
        recipientPrivateKeyHex: string
        recipientPublicKeyHex: string
        userId: string
        keyVersion: number
        senderUserId: string
        senderPublicKeyHex: string
        collectionId: string
        epoch: number
        collectionKeyHex: string
        wrappedKey: WrappedKey
      }>('wrapped-key-v1')
      const exMe = { userId: ex.userId, keyVersion: ex.keyVersion, privateKeyHex: ex.recipientPrivateKeyHex, publicKeyHex: ex.recipientPublicKeyHex }
      const exCtx = { collectionId: ex.collectionId, epoch: ex.epoch }
      const exFrom = { userId: ex.senderUserId, publicKeyHex: ex.senderPublicKeyHex }
      expect(await callPage(page, 'unwrapKey', ex.wrappedKey as unknown as PageValue, exMe, exCtx, exFrom)).toBe(ex.collectionKeyHex)
    })

    it('opens what Node wrapped, and Node opens what it wrapped, both authenticated by the manager’s key pair', async () => {
      const raw = crypto.getRandomValues(new Uint8Array(32))
      const byManager = { userId: managerId, privateKey: manager.privateKey, publicKey: manager.publicKey }
      const fromNode = await wrapCollectionKey(raw, { userId, keyVersion: 1, publicKey: account.publicKey }, ctx, byManager)
      expect(await callPage(page, 'unwrapKey', fromNode as unknown as PageValue, me(), ctx, from())).toBe(hex(raw))
      const fromChromium = await callPage<WrappedKey>(page, 'wrapKey', hex(raw), recipient(), ctx, sender())
      expect(fromChromium.enc).not.toBe(fromNode.enc)
      const meInNode = { userId, keyVersion: 1, privateKey: account.privateKey, publicKey: account.publicKey }
      expect(hex(await unwrapCollectionKey(fromChromium, meInNode, ctx, { userId: managerId, publicKey: manager.publicKey }))).toBe(hex(raw))
      // And each side refuses the other's wrap checked against another key for the manager.
      await expect(unwrapCollectionKey(fromChromium, meInNode, ctx, { userId: managerId, publicKey: other.publicKey })).rejects.toThrow(KeyUnwrapError)
      const otherKey = { userId: managerId, publicKeyHex: hex(other.publicKey) }
      expect(await callPage<Failure>(page, 'unwrapKeyFailure', fromNode as unknown as PageValue, me(), ctx, otherKey)).toMatchObject({ name: 'KeyUnwrapError', reason: 'authentication-failed' })
    })

    it('refuses a wrap made by another key than the named wrapper’s, or with the wrapper renamed, as KeyUnwrapError', async () => {
      const injected = await wrapCollectionKey(unhex('cd'.repeat(32)), { userId, keyVersion: 1, publicKey: account.publicKey }, ctx, { userId: managerId, privateKey: other.privateKey, publicKey: other.publicKey })
      expect(await callPage<Failure>(page, 'unwrapKeyFailure', injected as unknown as PageValue, me(), ctx, from())).toEqual({
        name: 'KeyUnwrapError',
        reason: 'authentication-failed',
        isKeyUnwrapError: true,
        isWrongPassphrase: false
      })
      const wrapped = await callPage<WrappedKey>(page, 'wrapKey', 'ab'.repeat(32), recipient(), ctx, sender())
      const renamed = { userId: 'b0b0c0de-0000-4000-8000-000000000002', publicKeyHex: hex(manager.publicKey) }
      expect(await callPage<Failure>(page, 'unwrapKeyFailure', wrapped as unknown as PageValue, me(), ctx, renamed)).toMatchObject({ name: 'KeyUnwrapError', reason: 'authentication-failed' })
    })

    it('reports a moved or changed wrapped key as KeyUnwrapError', async () => {
      const wrapped = await callPage<WrappedKey>(page, 'wrapKey', 'ab'.repeat(32), recipient(), ctx, sender())
      const moved = await callPage<Failure>(page, 'unwrapKeyFailure', wrapped as unknown as PageValue, me(), { ...ctx, epoch: 3 }, from())
      expect(moved).toEqual({ name: 'KeyUnwrapError', reason: 'authentication-failed', isKeyUnwrapError: true, isWrongPassphrase: false })
      const changed = { ...wrapped, c: (wrapped.c.startsWith('A') ? 'B' : 'A') + wrapped.c.slice(1) }
      expect(await callPage<Failure>(page, 'unwrapKeyFailure', changed, me(), ctx, from())).toMatchObject({ name: 'KeyUnwrapError', reason: 'authentication-failed' })
      expect(await callPage<Failure>(page, 'unwrapKeyFailure', { ...wrapped, v: 2 }, me(), ctx, from())).toMatchObject({ name: 'KeyUnwrapError', reason: 'unsupported-version' })
    })
  })

  describe('passphrase copy of the account secret', () => {
    it('opens the worked example of docs/ENCRYPTION.md (Argon2id in WebAssembly)', async () => {
      const ex = await workedExample<{ secretHex: string; passphrase: string; userId: string; wrap: PassphraseWrap }>('passphrase-wrap-v1')
      expect(await callPage(page, 'unwrapSecret', ex.wrap as unknown as PageValue, ex.passphrase, ex.userId)).toBe(ex.secretHex)
    })

    it('opens what Node wrote, and Node opens what it wrote', async () => {
      const fromNode = await wrapSecretWithPassphrase(account.secret, 'correct horse battery staple', { userId, params: cheap })
      expect(await callPage(page, 'unwrapSecret', fromNode as unknown as PageValue, 'correct horse battery staple', userId)).toBe(hex(account.secret))
      const fromChromium = await callPage<PassphraseWrap>(page, 'wrapSecret', hex(account.secret), 'ｃorrect horse battery staple', userId, cheap)
      expect(hex(await unwrapSecretWithPassphrase(fromChromium, 'correct horse battery staple', { userId }))).toBe(hex(account.secret))
    })

    it('reports a wrong passphrase as WrongPassphraseError', async () => {
      const wrap = await wrapSecretWithPassphrase(unhex('11'.repeat(32)), 'correct horse battery staple', { userId, params: cheap })
      expect(await callPage<Failure>(page, 'unwrapSecretFailure', wrap as unknown as PageValue, 'Correct horse battery staple', userId)).toEqual({
        name: 'WrongPassphraseError',
        isKeyUnwrapError: false,
        isWrongPassphrase: true
      })
    })
  })

  describe('recovery QR code', () => {
    it('shown as an image, decodes to exactly the exported phrase (screenshot in test-artifacts/recovery-qr.png)', async () => {
      const phrase = recoveryPhrase(account.secret)
      const scanned = await callPage<{ text: string | null; width: number; height: number }>(page, 'showAndScanQr', phrase)
      expect(scanned.text).toBe(phrase)
      expect(scanned.width).toBe(scanned.height)
      expect((scanned.width / QR_MODULE_PIXELS - 2 * QR_QUIET_ZONE - 17) % 4).toBe(0)
      await mkdir(artifacts, { recursive: true })
      await page.locator('#qr').screenshot({ path: fileURLToPath(new URL('recovery-qr.png', artifacts)) })
    })

    it('decodes when shown small (3 pixels a module) too', async () => {
      const phrase = recoveryPhrase(account.secret)
      expect((await callPage<{ text: string | null }>(page, 'showAndScanQr', phrase, 3)).text).toBe(phrase)
    })

    it('decodes the worked example’s phrase to its documented content', async () => {
      const ex = await workedExample<{ phrase: string; content: string; modules: number }>('recovery-qr-v1')
      const scanned = await callPage<{ text: string | null; width: number }>(page, 'showAndScanQr', ex.phrase)
      expect(scanned).toEqual({ text: ex.content, width: (ex.modules + 2 * QR_QUIET_ZONE) * QR_MODULE_PIXELS, height: (ex.modules + 2 * QR_QUIET_ZONE) * QR_MODULE_PIXELS })
    })
  })

  it('logged no page errors', () => {
    expect(browser.errors).toEqual([])
  })
})
