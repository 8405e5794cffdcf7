/**
 * The record envelope in a real headless Chromium: Chromium's WebCrypto and
 * Node's read each other's envelopes (the documented worked example
 * included), tampering is a TamperedRecordError there too, and a
 * non-extractable collection key survives a reload in IndexedDB.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decryptRecord, encryptRecord, importKeyRaw, type Envelope } from '../../../src/client/crypto/record-envelope.js'
import type { Json } from '../../../src/client/types.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'
import { browserSkipReason, bundle, callPage, launchBrowser, servePage, type PageServer, type PageValue, type TestBrowser } from '../../helpers/browser.js'

const entry = fileURLToPath(new URL('./record-envelope.page.ts', import.meta.url))
const keyHex = 'f0'.repeat(16) + '0f'.repeat(16)
const ref = { collectionId: 'notes', recordId: 'n-1', epoch: 3 }
const data = { title: 'Grüße 👋', list: [1, 2.5, null, true], nested: { deep: ['x'] } }

describe.skipIf(browserSkipReason())('record envelope in Chromium', () => {
  let browser: TestBrowser
  let server: PageServer
  let page: Page

  beforeAll(async () => {
    server = await servePage(await bundle(entry))
    browser = await launchBrowser()
    page = await browser.openPage(server.url)
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('decrypts the worked example of docs/ENCRYPTION.md', async () => {
    const markdown = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
    const block = fencedBlocks(markdown, 'docs/ENCRYPTION.md').find((b) => b.marker === '<!-- worked-example: record-envelope-v1 -->')
    const example = JSON.parse(block!.code) as { keyHex: string; collectionId: string; recordId: string; epoch: number; data: Json; envelope: Envelope }
    const { collectionId, recordId, epoch } = example
    expect(await callPage(page, 'decryptWithHexKey', example.keyHex, { collectionId, recordId, epoch }, example.envelope as unknown as PageValue)).toEqual(example.data)
  })

  it('reads what Node wrote, and Node reads what it wrote', async () => {
    const key = await importKeyRaw(Uint8Array.from(Buffer.from(keyHex, 'hex')))
    const fromNode = await encryptRecord(key, { ...ref, data })
    expect(await callPage(page, 'decryptWithHexKey', keyHex, ref, fromNode as unknown as PageValue)).toEqual(data)
    const fromChromium = await callPage<Envelope>(page, 'encryptWithHexKey', keyHex, ref, data)
    expect(await decryptRecord(key, ref, fromChromium)).toEqual(data)
  })

  it('reports tampering as TamperedRecordError', async () => {
    const envelope = await callPage<Envelope>(page, 'encryptWithHexKey', keyHex, ref, data)
    const moved = { ...ref, recordId: 'n-2' }
    expect(await callPage(page, 'decryptFailure', keyHex, moved, envelope as unknown as PageValue)).toEqual({ name: 'TamperedRecordError', reason: 'authentication-failed', isTampered: true })
    expect(await callPage(page, 'decryptFailure', 'aa'.repeat(32), ref, envelope as unknown as PageValue)).toEqual({ name: 'TamperedRecordError', reason: 'authentication-failed', isTampered: true })
    expect(await callPage(page, 'decryptFailure', keyHex, ref, { ...envelope, c: envelope.c.slice(4) })).toMatchObject({ name: 'TamperedRecordError', isTampered: true })
  })

  it('keeps a non-extractable key in IndexedDB across a reload', async () => {
    expect(await callPage(page, 'freshKeyIsExtractable')).toBe(true)
    const envelope = await callPage<Envelope>(page, 'encryptAndKeepKey', ref, data)
    await browser.reloadPage(page)
    expect(await callPage(page, 'decryptWithKeptKey', ref, envelope as unknown as PageValue)).toEqual({ data, extractable: false })
  })

  it('logged no page errors', () => {
    expect(browser.errors).toEqual([])
  })
})
