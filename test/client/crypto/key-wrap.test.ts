/**
 * Collection keys wrapped for a member (src/client/crypto/key-wrap.ts,
 * docs/ENCRYPTION.md "Wrapped collection keys (format v1)") with the real
 * @hpke/core, @noble/curves and Node's WebCrypto: round trips between real
 * account keys; a wrapped key moved to another collection, epoch, user or
 * key version, bit-flipped, or opened with the wrong private key is a
 * KeyUnwrapError; strict shape checks; and the documented worked example,
 * read from the document and re-derived step by step with an RFC 9180
 * implementation written here (node:crypto HMAC), independent of the library.
 */
import { createHmac } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { x25519 } from '@noble/curves/ed25519.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientInputError } from '../../../src/client/errors.js'
import { createAccountKeys, deriveAccountKeys, type AccountKeys } from '../../../src/client/crypto/account-keys.js'
import { fromBase64url, toBase64url } from '../../../src/client/crypto/base64url.js'
import { AAD_LABEL, HPKE_INFO, collectionKeyAad, sealCollectionKey } from '../../../src/client/crypto/key-wrap-seal.js'
import {
  KeyUnwrapError,
  importKeyRaw,
  unwrapCollectionKey,
  wrapCollectionKey,
  type KeyUnwrapReason,
  type WrappedKey
} from '../../../src/client/crypto/key-wrap.js'
import { decryptRecord, encryptRecord } from '../../../src/client/crypto/record-envelope.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const ctx = { collectionId: 'notes', epoch: 3 }

/** Resolves to the KeyUnwrapError the promise rejects with; fails the test on anything else. */
async function unwrapFails(promise: Promise<unknown>, reason: KeyUnwrapReason, where = ctx): Promise<KeyUnwrapError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught
  )
  expect(error).toBeInstanceOf(KeyUnwrapError)
  const typed = error as KeyUnwrapError
  expect({ name: typed.name, reason: typed.reason, collectionId: typed.collectionId, epoch: typed.epoch }).toEqual({ name: 'KeyUnwrapError', reason, ...where })
  expect(typed.message).toContain(`collection ${where.collectionId}, epoch ${where.epoch}`)
  return typed
}

/** The wrapped key with one bit of a base64url field flipped (re-encoded canonically, so only the bytes changed). */
function flipBit(wrapped: WrappedKey, field: 'enc' | 'c', byte: number, bit = 0): WrappedKey {
  const bytes = fromBase64url(wrapped[field])!
  bytes[byte < 0 ? bytes.length + byte : byte] ^= 1 << bit
  return { ...wrapped, [field]: toBase64url(bytes) }
}

let alice: AccountKeys
let bob: AccountKeys
let collectionKey: Uint8Array
let wrapped: WrappedKey
const aliceId = 'a1e0c0de-0000-4000-8000-000000000001'
const bobId = 'b0b0c0de-0000-4000-8000-000000000002'
const aliceAs = () => ({ userId: aliceId, keyVersion: 2, privateKey: alice.privateKey, publicKey: alice.publicKey })

beforeAll(async () => {
  ;[alice, bob] = await Promise.all([createAccountKeys(), createAccountKeys()])
  collectionKey = crypto.getRandomValues(new Uint8Array(32))
  wrapped = await wrapCollectionKey(collectionKey, { userId: aliceId, keyVersion: 2, publicKey: alice.publicKey }, ctx)
})

describe('round trip', () => {
  it('unwraps to the same 32 bytes for the member it was wrapped for', async () => {
    expect(hex(await unwrapCollectionKey(wrapped, aliceAs(), ctx))).toBe(hex(collectionKey))
  })

  it('has exactly the documented shape: v 1, enc 43 characters (32 bytes), c 64 characters (48 bytes)', () => {
    expect(Object.keys(wrapped).sort()).toEqual(['c', 'enc', 'v'])
    expect(wrapped.v).toBe(1)
    expect(wrapped.enc).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(wrapped.c).toMatch(/^[A-Za-z0-9_-]{64}$/)
    expect(JSON.parse(JSON.stringify(wrapped))).toEqual(wrapped)
  })

  it('draws a fresh ephemeral key each time: the same key wrapped twice differs, both unwrap', async () => {
    const again = await wrapCollectionKey(collectionKey, { userId: aliceId, keyVersion: 2, publicKey: alice.publicKey }, ctx)
    expect(again.enc).not.toBe(wrapped.enc)
    expect(again.c).not.toBe(wrapped.c)
    expect(hex(await unwrapCollectionKey(again, aliceAs(), ctx))).toBe(hex(collectionKey))
  })

  it('wraps one key for several members, each opening only their own', async () => {
    const forBob = await wrapCollectionKey(collectionKey, { userId: bobId, keyVersion: 1, publicKey: bob.publicKey }, ctx)
    const bobAs = { userId: bobId, keyVersion: 1, privateKey: bob.privateKey, publicKey: bob.publicKey }
    expect(hex(await unwrapCollectionKey(forBob, bobAs, ctx))).toBe(hex(collectionKey))
    await unwrapFails(unwrapCollectionKey(wrapped, bobAs, ctx), 'authentication-failed')
  })

  it('gives a key that encrypts and decrypts records (non-extractable through importKeyRaw)', async () => {
    const key = await importKeyRaw(await unwrapCollectionKey(wrapped, aliceAs(), ctx))
    expect(key.extractable).toBe(false)
    const ref = { collectionId: ctx.collectionId, recordId: 'n-1', epoch: ctx.epoch }
    const envelope = await encryptRecord(await importKeyRaw(collectionKey), { ...ref, data: { title: 'shared' } })
    expect(await decryptRecord(key, ref, envelope)).toEqual({ title: 'shared' })
  })

  it('accepts the widest epoch and key version, and ids with every allowed character', async () => {
    const wide = { collectionId: 'A-z_0.9~x', epoch: 0xffff_ffff }
    const w = await wrapCollectionKey(collectionKey, { userId: '~user.1', keyVersion: 0xffff_ffff, publicKey: alice.publicKey }, wide)
    expect(hex(await unwrapCollectionKey(w, { ...aliceAs(), userId: '~user.1', keyVersion: 0xffff_ffff }, wide))).toBe(hex(collectionKey))
  })
})

describe('a wrapped key moved or changed is a KeyUnwrapError', () => {
  it('moved to another collection', async () => {
    const other = { ...ctx, collectionId: 'todos' }
    await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), other), 'authentication-failed', other)
  })

  it('moved to another epoch', async () => {
    for (const epoch of [2, 4, 1]) {
      const other = { ...ctx, epoch }
      await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), other), 'authentication-failed', other)
    }
  })

  it('handed to another user (relabelled: same key pair, another user id)', async () => {
    await unwrapFails(unwrapCollectionKey(wrapped, { ...aliceAs(), userId: bobId }, ctx), 'authentication-failed')
  })

  it('passed off as made for another version of the member’s key', async () => {
    for (const keyVersion of [1, 3]) await unwrapFails(unwrapCollectionKey(wrapped, { ...aliceAs(), keyVersion }, ctx), 'authentication-failed')
  })

  it('opened with another private key (the member replaced their key, or it was made for someone else)', async () => {
    const bobAs = { userId: aliceId, keyVersion: 2, privateKey: bob.privateKey, publicKey: bob.publicKey }
    await unwrapFails(unwrapCollectionKey(wrapped, bobAs, ctx), 'authentication-failed')
  })

  it.each([
    ['c, first byte', 'c', 0, 0],
    ['c, a middle byte', 'c', 20, 5],
    ['c, the last key byte', 'c', 31, 7],
    ['c, the tag', 'c', -1, 3],
    ['enc, first byte', 'enc', 0, 1],
    ['enc, last byte', 'enc', -1, 2]
  ] as const)('one bit flipped (%s)', async (_, field, byte, bit) => {
    await unwrapFails(unwrapCollectionKey(flipBit(wrapped, field, byte, bit), aliceAs(), ctx), 'authentication-failed')
  })

  it('every single bit of c flipped in turn', async () => {
    const bits = fromBase64url(wrapped.c)!.length * 8
    for (let bit = 0; bit < bits; bit++) {
      await unwrapFails(unwrapCollectionKey(flipBit(wrapped, 'c', bit >> 3, bit & 7), aliceAs(), ctx), 'authentication-failed')
    }
  })

  it('an enc that is a low-order point (all zeros) is malformed: HPKE refuses the all-zero shared secret', async () => {
    await unwrapFails(unwrapCollectionKey({ ...wrapped, enc: toBase64url(new Uint8Array(32)) }, aliceAs(), ctx), 'malformed')
  })

  it('c and enc swapped between two wraps are refused', async () => {
    const other = await wrapCollectionKey(collectionKey, { userId: aliceId, keyVersion: 2, publicKey: alice.publicKey }, ctx)
    await unwrapFails(unwrapCollectionKey({ ...wrapped, enc: other.enc }, aliceAs(), ctx), 'authentication-failed')
  })
})

describe('strict shape', () => {
  const valid = () => wrapped as unknown as Record<string, unknown>
  const twoBytesTooMany = () => toBase64url(new Uint8Array([...fromBase64url(wrapped.c)!, 0]))
  it.each([
    ['null', () => null],
    ['a string', () => JSON.stringify(wrapped)],
    ['an array', () => [wrapped]],
    ['no v', () => ({ enc: wrapped.enc, c: wrapped.c })],
    ['v as a string', () => ({ ...valid(), v: '1' })],
    ['an extra field', () => ({ ...valid(), e: 3 })],
    ['no enc', () => ({ v: 1, c: wrapped.c })],
    ['no c', () => ({ v: 1, enc: wrapped.enc })],
    ['enc of 31 bytes', () => ({ ...valid(), enc: toBase64url(fromBase64url(wrapped.enc)!.subarray(1)) })],
    ['enc as a number', () => ({ ...valid(), enc: 7 })],
    ['c of 47 bytes', () => ({ ...valid(), c: toBase64url(fromBase64url(wrapped.c)!.subarray(1)) })],
    ['c of 49 bytes', () => ({ ...valid(), c: twoBytesTooMany() })],
    ['padding "="', () => ({ ...valid(), enc: `${wrapped.enc}=` })],
    ['standard base64 "+" and "/"', () => ({ ...valid(), c: wrapped.c.replace(/-/g, '+').replace(/_/g, '/').replace(/^./, '+') })],
    ['whitespace', () => ({ ...valid(), c: ` ${wrapped.c}` })],
    ['non-zero trailing bits', () => ({ ...valid(), enc: wrapped.enc.slice(0, -1) + (wrapped.enc.endsWith('B') ? 'C' : 'B') })]
  ])('refuses %s as malformed', async (_, make) => {
    await unwrapFails(unwrapCollectionKey(make(), aliceAs(), ctx), 'malformed')
  })

  it('does not guess at another version', async () => {
    const error = await unwrapFails(unwrapCollectionKey({ v: 2, enc: wrapped.enc, c: wrapped.c, x: 1 }, aliceAs(), ctx), 'unsupported-version')
    expect(error.message).toContain('format version 2')
  })
})

describe('bad input from the caller is a ClientInputError, before any work', () => {
  const recipient = () => ({ userId: aliceId, keyVersion: 2, publicKey: alice.publicKey })
  it.each([
    ['a 31-byte key', () => wrapCollectionKey(new Uint8Array(31), recipient(), ctx)],
    ['a 33-byte key', () => wrapCollectionKey(new Uint8Array(33), recipient(), ctx)],
    ['epoch 0', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 0 })],
    ['epoch 2^32', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 2 ** 32 })],
    ['epoch 1.5', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 1.5 })],
    ['keyVersion 0', () => wrapCollectionKey(collectionKey, { ...recipient(), keyVersion: 0 }, ctx)],
    ['an invalid collection id', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, collectionId: 'a/b' })],
    ['an empty user id', () => wrapCollectionKey(collectionKey, { ...recipient(), userId: '' }, ctx)],
    ['a 31-byte public key', () => wrapCollectionKey(collectionKey, { ...recipient(), publicKey: new Uint8Array(31) }, ctx)],
    ['a low-order public key (all zeros: anyone could open the wrap)', () => wrapCollectionKey(collectionKey, { ...recipient(), publicKey: new Uint8Array(32) }, ctx)],
    ['a private key that is not the public key’s', () => unwrapCollectionKey(wrapped, { ...aliceAs(), publicKey: bob.publicKey }, ctx)],
    ['a 31-byte private key', () => unwrapCollectionKey(wrapped, { ...aliceAs(), privateKey: new Uint8Array(31) }, ctx)],
    ['epoch 0 when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), { ...ctx, epoch: 0 })],
    ['keyVersion -1 when unwrapping', () => unwrapCollectionKey(wrapped, { ...aliceAs(), keyVersion: -1 }, ctx)]
  ])('%s', async (_, call) => {
    await expect(call()).rejects.toThrow(ClientInputError)
  })
})

describe('the worked example in docs/ENCRYPTION.md', () => {
  interface Example {
    recipientPrivateKeyHex: string
    recipientPublicKeyHex: string
    userId: string
    keyVersion: number
    collectionId: string
    epoch: number
    collectionKeyHex: string
    ephemeralPrivateKeyHex: string
    info: string
    aadHex: string
    encHex: string
    sharedSecretHex: string
    keyHex: string
    baseNonceHex: string
    wrappedKey: WrappedKey
  }
  let ex: Example
  let doc: string

  beforeAll(async () => {
    doc = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
    const blocks = fencedBlocks(doc, 'docs/ENCRYPTION.md').filter((b) => b.marker === '<!-- worked-example: wrapped-key-v1 -->')
    expect(blocks).toHaveLength(1)
    expect(blocks[0].lang).toBe('json')
    ex = JSON.parse(blocks[0].code) as Example
  })

  it('documents the info and AAD label the code uses', () => {
    expect(ex.info).toBe(HPKE_INFO)
    expect(doc).toContain(`\`${HPKE_INFO}\``)
    expect(doc).toContain(`AAD = "${AAD_LABEL}"`)
  })

  it('is the account of the account-keys example', async () => {
    const account = await deriveAccountKeys(new Uint8Array(32).map((_, index) => index))
    expect([hex(account.privateKey), hex(account.publicKey)]).toEqual([ex.recipientPrivateKeyHex, ex.recipientPublicKeyHex])
  })

  it('re-derives every value with RFC 9180 written out here (not the library)', () => {
    const ids = { collectionId: ex.collectionId, epoch: ex.epoch }
    const aad = collectionKeyAad(ids, { userId: ex.userId, keyVersion: ex.keyVersion })
    expect(hex(aad)).toBe(ex.aadHex)
    expect(hex(aad)).toBe(hex(handAad(ex)))
    const sealed = hpkeSealBase(unhex(ex.recipientPublicKeyHex), unhex(ex.ephemeralPrivateKeyHex), new TextEncoder().encode(ex.info))
    expect({ enc: hex(sealed.enc), shared: hex(sealed.sharedSecret), key: hex(sealed.key), nonce: hex(sealed.baseNonce) }).toEqual({
      enc: ex.encHex,
      shared: ex.sharedSecretHex,
      key: ex.keyHex,
      nonce: ex.baseNonceHex
    })
    expect(toBase64url(sealed.enc)).toBe(ex.wrappedKey.enc)
  })

  it('seals to the documented c with the AEAD key and nonce derived above (WebCrypto AES-GCM)', async () => {
    const key = await crypto.subtle.importKey('raw', unhex(ex.keyHex), 'AES-GCM', false, ['encrypt'])
    const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: unhex(ex.baseNonceHex), additionalData: unhex(ex.aadHex) }, key, unhex(ex.collectionKeyHex))
    expect(toBase64url(new Uint8Array(c))).toBe(ex.wrappedKey.c)
  })

  it('the library, given the documented ephemeral key, writes the documented wrapped key; it unwraps to the documented collection key', async () => {
    const ids = { collectionId: ex.collectionId, epoch: ex.epoch }
    const recipient = { userId: ex.userId, keyVersion: ex.keyVersion, publicKey: unhex(ex.recipientPublicKeyHex) }
    expect(await sealCollectionKey(unhex(ex.collectionKeyHex), recipient, ids, unhex(ex.ephemeralPrivateKeyHex))).toEqual(ex.wrappedKey)
    const me = { ...recipient, privateKey: unhex(ex.recipientPrivateKeyHex) }
    expect(hex(await unwrapCollectionKey(ex.wrappedKey, me, ids))).toBe(ex.collectionKeyHex)
  })
})

/** The documented AAD, byte by byte: label ‖ 0x01 ‖ lp(C) ‖ u32(epoch) ‖ lp(U) ‖ u32(keyVersion). */
function handAad(ex: { collectionId: string; epoch: number; userId: string; keyVersion: number }): Uint8Array {
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
  const lp = (text: string) => Buffer.concat([u32(Buffer.byteLength(text)), Buffer.from(text)])
  return Buffer.concat([Buffer.from('roost.collection-key'), Buffer.from([1]), lp(ex.collectionId), u32(ex.epoch), lp(ex.userId), u32(ex.keyVersion)])
}

/** RFC 9180 §4.1 and §5.1, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM: SetupBaseS up to key and base_nonce. */
function hpkeSealBase(pkR: Uint8Array, skE: Uint8Array, info: Uint8Array) {
  const hmac = (key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(data).digest())
  const extract = (salt: Uint8Array, ikm: Uint8Array) => hmac(salt.length === 0 ? new Uint8Array(32) : salt, ikm)
  const expand = (prk: Uint8Array, infoBytes: Uint8Array, length: number) => {
    let out = Buffer.alloc(0)
    let block = Buffer.alloc(0)
    for (let counter = 1; out.length < length; counter++) {
      block = Buffer.from(hmac(prk, Buffer.concat([block, infoBytes, Buffer.from([counter])])))
      out = Buffer.concat([out, block])
    }
    return new Uint8Array(out.subarray(0, length))
  }
  const ascii = (text: string) => Buffer.from(text, 'ascii')
  const kemId = Buffer.concat([ascii('KEM'), Buffer.from([0x00, 0x20])])
  const suiteId = Buffer.concat([ascii('HPKE'), Buffer.from([0x00, 0x20, 0x00, 0x01, 0x00, 0x02])])
  const labeledExtract = (sid: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) => extract(salt, Buffer.concat([ascii('HPKE-v1'), sid, ascii(label), ikm]))
  const labeledExpand = (sid: Uint8Array, prk: Uint8Array, label: string, infoBytes: Uint8Array, length: number) =>
    expand(prk, Buffer.concat([Buffer.from([length >> 8, length & 255]), ascii('HPKE-v1'), sid, ascii(label), infoBytes]), length)
  const empty = new Uint8Array(0)

  const enc = x25519.getPublicKey(skE)
  const dh = x25519.getSharedSecret(skE, pkR)
  const sharedSecret = labeledExpand(kemId, labeledExtract(kemId, empty, 'eae_prk', dh), 'shared_secret', Buffer.concat([enc, pkR]), 32)
  const context = Buffer.concat([Buffer.from([0x00]), labeledExtract(suiteId, empty, 'psk_id_hash', empty), labeledExtract(suiteId, empty, 'info_hash', info)])
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', empty)
  return { enc, sharedSecret, key: labeledExpand(suiteId, secret, 'key', context, 32), baseNonce: labeledExpand(suiteId, secret, 'base_nonce', context, 12) }
}
