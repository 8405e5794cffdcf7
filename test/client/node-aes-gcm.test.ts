import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decryptRecord, encryptRecord, importKeyRaw, TamperedRecordError } from '../../src/client/crypto/record-envelope.js'
import { nodeAesGcm } from '../../src/client/node.js'

/** The worked example of docs/ENCRYPTION.md (record envelope), as the envelope's own test reads it. */
function workedExample() {
  const doc = readFileSync(new URL('../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
  const start = doc.indexOf('<!-- worked-example: record-envelope-v1 -->\n```json\n')
  const from = doc.indexOf('```json\n', start) + 8
  const block = doc.slice(from, doc.indexOf('```', from))
  return JSON.parse(block) as { keyHex: string; collectionId: string; recordId: string; epoch: number; data: unknown; envelope: unknown }
}

describe('nodeAesGcm (roost/client/node)', () => {
  it('reads the documented envelope, and what WebCrypto writes; WebCrypto reads what it writes', async () => {
    const example = workedExample()
    const key = await importKeyRaw(Buffer.from(example.keyHex, 'hex'))
    const ref = { collectionId: example.collectionId, recordId: example.recordId, epoch: example.epoch }
    expect(await decryptRecord(key, ref, example.envelope, nodeAesGcm)).toEqual(example.data)

    const data = { text: 'Grüße ☕', n: [1, 2, 3] }
    const byWebCrypto = await encryptRecord(key, { ...ref, data })
    const byNode = await encryptRecord(key, { ...ref, data }, nodeAesGcm)
    expect(await decryptRecord(key, ref, byWebCrypto, nodeAesGcm)).toEqual(data)
    expect(await decryptRecord(key, ref, byNode)).toEqual(data)
    expect(byNode.c.length).toBe(byWebCrypto.c.length)
  })

  it('refuses changed bytes, another record and another key as tampering, like WebCrypto', async () => {
    const key = await importKeyRaw(globalThis.crypto.getRandomValues(new Uint8Array(32)))
    const other = await importKeyRaw(globalThis.crypto.getRandomValues(new Uint8Array(32)))
    const ref = { collectionId: 'notes', recordId: 'n-1', epoch: 1 }
    const envelope = await encryptRecord(key, { ...ref, data: { a: 1 } }, nodeAesGcm)
    const bytes = Buffer.from(envelope.c, 'base64url')
    bytes[5] ^= 0x80
    const cases: Array<[CryptoKey, typeof ref, unknown]> = [
      [key, ref, { ...envelope, c: bytes.toString('base64url') }],
      [key, { ...ref, recordId: 'n-2' }, envelope],
      [other, ref, envelope]
    ]
    for (const [candidate, where, sealed] of cases) {
      const failure = await decryptRecord(candidate, where, sealed, nodeAesGcm).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(TamperedRecordError)
      expect((failure as TamperedRecordError).reason).toBe('authentication-failed')
    }
  })
})
