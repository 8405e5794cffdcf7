/**
 * The record envelope (src/client/crypto/, docs/ENCRYPTION.md "Record
 * envelope (format v1)") with Node's real WebCrypto: round trips, fresh
 * nonces, PADMÉ sizes, every way of tampering ending in TamperedRecordError,
 * and the documented worked example, read from the document itself.
 */
import { readFile } from 'node:fs/promises'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientInputError } from '../../../src/client/errors.js'
import type { Json } from '../../../src/client/types.js'
import { associatedData } from '../../../src/client/crypto/associated-data.js'
import { fromBase64url, toBase64url } from '../../../src/client/crypto/base64url.js'
import { pad, paddedLength, padme, unpad } from '../../../src/client/crypto/padding.js'
import {
  TamperedRecordError,
  decryptRecord,
  encryptRecord,
  envelopeEpoch,
  exportKeyRaw,
  generateCollectionKey,
  importKeyRaw,
  type Envelope,
  type TamperReason
} from '../../../src/client/crypto/record-envelope.js'
import { sealRecord } from '../../../src/client/crypto/seal.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'

const ref = { collectionId: 'notes', recordId: 'n-1', epoch: 1 }
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const utf8Length = (data: Json) => new TextEncoder().encode(JSON.stringify(data)).length
const cipherBytes = (envelope: Envelope) => fromBase64url(envelope.c)!.length

/** Resolves to the TamperedRecordError the promise rejects with; fails the test on anything else. */
async function tampered(promise: Promise<unknown>, reason: TamperReason, ids = ref): Promise<TamperedRecordError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught
  )
  expect(error).toBeInstanceOf(TamperedRecordError)
  const typed = error as TamperedRecordError
  expect({ reason: typed.reason, collectionId: typed.collectionId, recordId: typed.recordId, name: typed.name }).toEqual({
    reason,
    collectionId: ids.collectionId,
    recordId: ids.recordId,
    name: 'TamperedRecordError'
  })
  return typed
}

/** The envelope with one bit of the base64url field flipped (re-encoded canonically, so only the bytes changed). */
function flipBit(envelope: Envelope, field: 'n' | 'c', byte: number, bit = 0): Envelope {
  const bytes = fromBase64url(envelope[field])!
  const at = byte < 0 ? bytes.length + byte : byte
  bytes[at] ^= 1 << bit
  return { ...envelope, [field]: toBase64url(bytes) }
}

let key: CryptoKey

beforeAll(async () => {
  key = await generateCollectionKey()
})

describe('round trip', () => {
  const tricky: Record<string, Json> = {
    null: null,
    true: true,
    'zero': 0,
    'a string': 'plain',
    'the empty string': '',
    'an empty object': {},
    'an empty array': [],
    unicode: { 'clé 🔑': 'Grüße, 世界, 👩‍👩‍👧, e\u0301, \u202e', '': 'empty key' },
    'NUL and a lone surrogate (JSON.stringify escapes them)': ['a\u0000b', '\ud800', '\udfff x'],
    numbers: [1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1 + 0.2, -1.5, 123456789.125],
    nested: { a: [{ b: [{ c: [[[null, { d: 'deep' }]]] }] }] },
    'a "__proto__" key': JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Json,
    'a large string (1 MiB)': 'x'.repeat(1 << 20),
    'many objects': Array.from({ length: 5000 }, (_, index) => ({ index, name: `item ${index}`, done: index % 3 === 0 }))
  }

  it.each(Object.entries(tricky))('%s', async (_, data) => {
    const envelope = await encryptRecord(key, { ...ref, data })
    // The server stores and returns it as JSON.
    const stored = JSON.parse(JSON.stringify(envelope)) as unknown
    expect(await decryptRecord(key, ref, stored)).toEqual(data)
    expect(await decryptRecord(key, { collectionId: ref.collectionId, recordId: ref.recordId }, stored)).toEqual(data)
  })

  it('any JSON value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const data = JSON.parse(JSON.stringify(value)) as Json // fc's -0 comes back as 0
        expect(await decryptRecord(key, ref, await encryptRecord(key, { ...ref, data }))).toEqual(data)
      }),
      { numRuns: 200 }
    )
  })

  it('makes plain JSON with exactly v, e, n, c, none of the plaintext in it', async () => {
    const envelope = await encryptRecord(key, { ...ref, epoch: 7, data: { secret: 'hunter2' } })
    expect(Object.keys(envelope)).toEqual(['v', 'e', 'n', 'c'])
    expect(envelope).toMatchObject({ v: 1, e: 7 })
    expect(envelope.n).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(envelope.c).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(JSON.stringify(envelope)).not.toContain('hunter2')
    expect(envelopeEpoch(ref, envelope)).toBe(7)
  })
})

describe('nonces', () => {
  it('are fresh for every encryption: the same data twice gives two different envelopes, both readable', async () => {
    const data = { same: 'data' }
    const envelopes = await Promise.all(Array.from({ length: 50 }, () => encryptRecord(key, { ...ref, data })))
    expect(new Set(envelopes.map((e) => e.n)).size).toBe(50)
    expect(new Set(envelopes.map((e) => e.c)).size).toBe(50)
    for (const envelope of envelopes) expect(await decryptRecord(key, ref, envelope)).toEqual(data)
  })
})

describe('padding (PADMÉ)', () => {
  /** The paper's formula with bit masks, written independently of padding.ts. */
  const paperPadme = (length: number) => {
    const e = Math.floor(Math.log2(length))
    const s = Math.floor(Math.log2(e)) + 1
    const mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask
  }

  it('follows the paper for every length up to 2^20, with at most 12% overhead', () => {
    for (let length = 2; length <= 1 << 20; length++) {
      const padded = padme(length)
      if (padded !== paperPadme(length)) expect({ length, padded }).toEqual({ length, padded: paperPadme(length) })
      if (padded > length * 1.12) expect({ length, padded }).toBe('within 12%')
    }
    expect([padme(9), padme(100), padme(1025), padme(1088), padme(1089), padme(1_000_000)]).toEqual([10, 104, 1088, 1088, 1152, 1_015_808])
  })

  it('pads to padmé(max(4 + length, 32)), removably, and refuses any other padding', () => {
    for (const length of [0, 1, 27, 28, 29, 59, 60, 100, 1000, 4096, 70_000]) {
      const payload = new Uint8Array(length).fill(0x41)
      const padded = pad(payload)
      expect(padded.length).toBe(padme(Math.max(4 + length, 32)))
      expect(unpad(padded)).toEqual(payload)
      if (padded.length > 4 + length) {
        const dirty = padded.slice()
        dirty[dirty.length - 1] = 1
        expect(unpad(dirty)).toBeUndefined()
      }
      expect(unpad(new Uint8Array([...padded, 0]))).toBeUndefined()
    }
    expect(unpad(new Uint8Array([0, 0, 0, 40, ...new Array(28).fill(0)]))).toBeUndefined() // prefix past the end
    expect(unpad(new Uint8Array([0, 0, 0]))).toBeUndefined()
  })

  it('sets the ciphertext size: padded length + 16-byte tag', async () => {
    for (const size of [0, 10, 50, 200, 1000, 5000, 70_000]) {
      const data = 'y'.repeat(size)
      const envelope = await encryptRecord(key, { ...ref, data })
      expect(cipherBytes(envelope)).toBe(paddedLength(utf8Length(data)) + 16)
    }
  })

  it('hides small size differences', async () => {
    const sizes = async (values: Json[]) =>
      new Set(await Promise.all(values.map(async (data) => cipherBytes(await encryptRecord(key, { ...ref, data })))))
    // Small values all look alike.
    expect(await sizes([true, false, null, 0, 12345, 'yes', 'no', '', {}, { done: true }, { done: false }, 'a'.repeat(26)])).toEqual(new Set([48]))
    // Just above 1 KiB, some fifty bytes more or less do not show (all pad to 1088).
    expect((await sizes(Array.from({ length: 50 }, (_, index) => 'z'.repeat(1024 + index)))).size).toBe(1)
    // A real difference does (PADMÉ leaks the order of magnitude, by design).
    expect((await sizes(['z'.repeat(1000), 'z'.repeat(2000)])).size).toBe(2)
  })
})

describe('tampering is a TamperedRecordError, never a crash', () => {
  let envelope: Envelope
  beforeAll(async () => {
    envelope = await encryptRecord(key, { ...ref, data: { title: 'original', body: 'x'.repeat(100) } })
  })

  it.each([0, 5, 31, 60, -17, -1])('a bit flipped in byte %i of the ciphertext (negative: from the end, in the tag)', async (byte) => {
    await tampered(decryptRecord(key, ref, flipBit(envelope, 'c', byte, byte & 7)), 'authentication-failed')
  })

  it.each([0, 11])('a bit flipped in byte %i of the nonce', async (byte) => {
    await tampered(decryptRecord(key, ref, flipBit(envelope, 'n', byte, 7)), 'authentication-failed')
  })

  it('ciphertext swapped between two records of the collection', async () => {
    const other = { ...ref, recordId: 'n-2' }
    const otherEnvelope = await encryptRecord(key, { ...other, data: { title: 'other' } })
    await tampered(decryptRecord(key, other, envelope), 'authentication-failed', other)
    await tampered(decryptRecord(key, ref, otherEnvelope), 'authentication-failed')
    // Only the ciphertext moved, nonce kept.
    await tampered(decryptRecord(key, ref, { ...envelope, c: otherEnvelope.c }), 'authentication-failed')
  })

  it('an envelope moved to the same record id in another collection (same key)', async () => {
    const moved = { ...ref, collectionId: 'notes-2' }
    await tampered(decryptRecord(key, moved, envelope), 'authentication-failed', moved)
  })

  it('ids that concatenate alike are still different associated data', async () => {
    const a = await encryptRecord(key, { collectionId: 'ab', recordId: 'c', epoch: 1, data: 1 })
    await tampered(decryptRecord(key, { collectionId: 'a', recordId: 'bc' }, a), 'authentication-failed', { collectionId: 'a', recordId: 'bc', epoch: 1 })
  })

  it('the epoch relabelled in the envelope, or another epoch expected', async () => {
    await tampered(decryptRecord(key, { collectionId: ref.collectionId, recordId: ref.recordId }, { ...envelope, e: 2 }), 'authentication-failed')
    await tampered(decryptRecord(key, { ...ref, epoch: 2 }, envelope), 'epoch-mismatch')
    await tampered(decryptRecord(key, { ...ref, epoch: 2 }, { ...envelope, e: 2 }), 'authentication-failed')
  })

  it('a wrong key looks exactly like tampering', async () => {
    const error = await tampered(decryptRecord(await generateCollectionKey(), ref, envelope), 'authentication-failed')
    expect(error.message).toContain('notes/n-1')
  })

  it('a truncated ciphertext', async () => {
    const bytes = fromBase64url(envelope.c)!
    await tampered(decryptRecord(key, ref, { ...envelope, c: toBase64url(bytes.subarray(0, bytes.length - 1)) }), 'authentication-failed')
    await tampered(decryptRecord(key, ref, { ...envelope, c: toBase64url(bytes.subarray(0, 47)) }), 'malformed-envelope')
  })

  const malformed: Array<[string, (e: Envelope) => unknown]> = [
    ['null', () => null],
    ['a string', (e) => JSON.stringify(e)],
    ['a number', () => 1],
    ['an array', (e) => [e]],
    ['an empty object', () => ({})],
    ['no c', ({ v, e, n }) => ({ v, e, n })],
    ['no e', ({ v, n, c }) => ({ v, n, c })],
    ['an extra field', (e) => ({ ...e, plain: 'hello' })],
    ['v as a string', (e) => ({ ...e, v: '1' })],
    ['e as a string', (e) => ({ ...e, e: '1' })],
    ['e negative', (e) => ({ ...e, e: -1 })],
    ['e fractional', (e) => ({ ...e, e: 1.5 })],
    ['e beyond u32', (e) => ({ ...e, e: 2 ** 32 })],
    ['n too short', (e) => ({ ...e, n: e.n.slice(0, 12) })],
    ['n too long', (e) => ({ ...e, n: `${e.n}AAAA` })],
    ['n with a non-zero trailing bit', (e) => ({ ...e, n: toBase64url(new Uint8Array(11)) + 'AB' })],
    ['n as a number', (e) => ({ ...e, n: 12 })],
    ['c in standard base64', (e) => ({ ...e, c: Buffer.from(fromBase64url(e.c)!).toString('base64') })],
    ['c with = padding', (e) => ({ ...e, c: `${e.c}==` })],
    ['c with whitespace', (e) => ({ ...e, c: `${e.c.slice(0, 10)} ${e.c.slice(10)}` })],
    ['c of 4k+1 characters', (e) => ({ ...e, c: `${e.c.slice(0, e.c.length - (e.c.length % 4))}A` })],
    ['c empty', (e) => ({ ...e, c: '' })],
    ['c as null', (e) => ({ ...e, c: null })]
  ]

  it.each(malformed)('a malformed envelope: %s', async (_, make) => {
    await tampered(decryptRecord(key, ref, make(envelope)), 'malformed-envelope')
  })

  it('an unknown format version', async () => {
    const error = await tampered(decryptRecord(key, ref, { ...envelope, v: 2 }), 'unsupported-version')
    expect(error.message).toContain('format version 2')
  })

  describe('a key holder that breaks the format (authentic, but not padded UTF-8 JSON)', () => {
    /** An envelope around `plaintext` exactly as v1 would make it, minus the padding rules. */
    async function sealRaw(plaintext: Uint8Array): Promise<Envelope> {
      const nonce = crypto.getRandomValues(new Uint8Array(12))
      const additionalData = associatedData({ version: 1, ...ref })
      const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData }, key, new Uint8Array(plaintext))
      return { v: 1, e: ref.epoch, n: toBase64url(nonce), c: toBase64url(new Uint8Array(c)) }
    }
    const withPrefix = (length: number, body: number[], total = 32) => {
      const out = new Uint8Array(total)
      new DataView(out.buffer).setUint32(0, length)
      out.set(body, 4)
      return out
    }

    it.each<[string, Uint8Array]>([
      ['a non-zero padding byte', (() => { const p = pad(new TextEncoder().encode('true')); p[p.length - 1] = 7; return p })()],
      ['a length prefix past the end', withPrefix(100, [...new TextEncoder().encode('true')])],
      ['more padding than PADMÉ gives', withPrefix(4, [...new TextEncoder().encode('true')], 64)],
      ['invalid UTF-8', pad(new Uint8Array([0x22, 0xc3, 0x28, 0x22]))],
      ['not JSON', pad(new TextEncoder().encode('{"a":'))],
      ['a UTF-8 byte order mark before the JSON', pad(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('1')]))]
    ])('%s', async (_, plaintext) => {
      await tampered(decryptRecord(key, ref, await sealRaw(plaintext)), 'malformed-plaintext')
    })
  })
})

describe('keys', () => {
  it('generateCollectionKey makes extractable AES-256-GCM keys; importKeyRaw makes non-extractable ones unless asked', async () => {
    const raw = await exportKeyRaw(key)
    expect(raw.length).toBe(32)
    const imported = await importKeyRaw(raw)
    expect(imported.extractable).toBe(false)
    await expect(exportKeyRaw(imported)).rejects.toThrow()
    const envelope = await encryptRecord(key, { ...ref, data: 'shared' })
    expect(await decryptRecord(imported, ref, envelope)).toBe('shared')
    const extractable = await importKeyRaw(raw, { extractable: true })
    expect(await exportKeyRaw(extractable)).toEqual(raw)
    expect(hex(await exportKeyRaw(await generateCollectionKey()))).not.toBe(hex(raw))
  })

  it('refuses other key material with a ClientInputError', async () => {
    expect(() => importKeyRaw(new Uint8Array(16))).toThrow(ClientInputError)
    expect(() => importKeyRaw(new Uint8Array(33))).toThrow(ClientInputError)
    const aes128 = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt'])
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    const encryptOnly = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt'])
    for (const bad of [aes128, hmac, encryptOnly, null, 'key']) {
      await expect(encryptRecord(bad as CryptoKey, { ...ref, data: 1 })).rejects.toThrow(ClientInputError)
      await expect(decryptRecord(bad as CryptoKey, ref, {})).rejects.toThrow(ClientInputError)
    }
  })
})

describe('bad input from the caller is a ClientInputError, before any encryption', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an invalid record id', { recordId: 'has space' }],
    ['an invalid collection id', { collectionId: '' }],
    ['a negative epoch', { epoch: -1 }],
    ['an epoch beyond u32', { epoch: 2 ** 32 }],
    ['a fractional epoch', { epoch: 0.5 }],
    ['undefined data', { data: undefined }],
    ['a BigInt', { data: { n: 1n } }],
    ['NaN', { data: [Number.NaN] }],
    ['a Date', { data: new Date(0) }]
  ])('%s', async (_, change) => {
    await expect(encryptRecord(key, { ...ref, data: 'ok', ...change } as never)).rejects.toThrow(ClientInputError)
  })

  it('in decryptRecord too (the ids and the expected epoch are the caller’s)', async () => {
    const envelope = await encryptRecord(key, { ...ref, data: 1 })
    await expect(decryptRecord(key, { ...ref, recordId: '../x' }, envelope)).rejects.toThrow(ClientInputError)
    await expect(decryptRecord(key, { ...ref, epoch: -1 }, envelope)).rejects.toThrow(ClientInputError)
  })
})

describe('base64url', () => {
  it('matches RFC 4648 §5 without padding, and decodes back', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length))
      const text = toBase64url(bytes)
      expect(text).toBe(Buffer.from(bytes).toString('base64url'))
      expect(fromBase64url(text)).toEqual(bytes)
    }
  })

  it('accepts a string only if it is the canonical spelling of its bytes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AQgw-_/+=z09 '), maxLength: 12 }), (text) => {
        const bytes = fromBase64url(text)
        if (bytes !== undefined) expect(toBase64url(bytes)).toBe(text)
      }),
      { numRuns: 2000 }
    )
  })

  it.each(['A', 'AAAAA', 'AB', 'AAB', 'AA==', 'A+/A', 'AA A', 'ÀA'])('refuses %j', (text) => {
    expect(fromBase64url(text)).toBeUndefined()
  })
})

describe('docs/ENCRYPTION.md, worked example', () => {
  interface Example {
    keyHex: string
    nonceHex: string
    collectionId: string
    recordId: string
    epoch: number
    data: Json
    json: string
    aadHex: string
    paddedHex: string
    envelope: Envelope
  }
  let example: Example

  beforeAll(async () => {
    const file = new URL('../../../docs/ENCRYPTION.md', import.meta.url)
    const blocks = fencedBlocks(await readFile(file, 'utf8'), 'docs/ENCRYPTION.md').filter((b) => b.marker === '<!-- worked-example: record-envelope-v1 -->')
    expect(blocks).toHaveLength(1)
    example = JSON.parse(blocks[0].code) as Example
  })

  it('states the JSON, the associated data and the padded plaintext of its inputs', () => {
    const { collectionId, recordId, epoch } = example
    expect(JSON.stringify(example.data)).toBe(example.json)
    expect(hex(associatedData({ version: 1, collectionId, recordId, epoch }))).toBe(example.aadHex)
    expect(hex(pad(new TextEncoder().encode(example.json)))).toBe(example.paddedHex)
  })

  it('gives exactly the documented envelope from its key and nonce', async () => {
    const key = await importKeyRaw(unhex(example.keyHex))
    const { collectionId, recordId, epoch, data } = example
    expect(await sealRecord(key, { collectionId, recordId, epoch, data }, unhex(example.nonceHex))).toEqual(example.envelope)
  })

  it('decrypts the documented envelope, and only for its own record', async () => {
    const key = await importKeyRaw(unhex(example.keyHex))
    const { collectionId, recordId, epoch } = example
    expect(await decryptRecord(key, { collectionId, recordId, epoch }, example.envelope)).toEqual(example.data)
    await tampered(decryptRecord(key, { collectionId, recordId: 'n-2' }, example.envelope), 'authentication-failed', { collectionId, recordId: 'n-2', epoch })
  })
})
