/**
 * Collection keys wrapped for a member (src/client/crypto/key-wrap.ts,
 * docs/ENCRYPTION.md "Wrapped collection keys (format v1)") with the real
 * @hpke/core, @noble/curves and Node's WebCrypto: round trips between real
 * account keys, wrapped by a manager's own key pair (HPKE Auth mode); a
 * wrapped key moved to another collection, epoch, user or key version,
 * bit-flipped, or opened with the wrong private key is a KeyUnwrapError,
 * and so is one made by another key than the named wrapper's (the
 * operator's own epoch), one with another wrapper named, and one made
 * without a sender (base mode); strict shape checks; and the documented
 * worked example, read from the document and re-derived step by step with
 * an RFC 9180 Auth-mode implementation written here (node:crypto HMAC),
 * independent of the library, itself checked on RFC 9180's test vector A.1.3.
 */
import { createHmac } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core'
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519'
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
  type WrapSender,
  type WrappedBy,
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

/** Alice is the member, Bob another member, Carol the manager who wraps; Mallory's key pair stands for one the operator holds. */
let alice: AccountKeys
let bob: AccountKeys
let carol: AccountKeys
let mallory: AccountKeys
let collectionKey: Uint8Array
let wrapped: WrappedKey
const aliceId = 'a1e0c0de-0000-4000-8000-000000000001'
const bobId = 'b0b0c0de-0000-4000-8000-000000000002'
const carolId = 'ca501c0d-0000-4000-8000-000000000003'
const aliceAs = () => ({ userId: aliceId, keyVersion: 2, privateKey: alice.privateKey, publicKey: alice.publicKey })
const forAlice = () => ({ userId: aliceId, keyVersion: 2, publicKey: alice.publicKey })
/** Carol wrapping: her user id and her own key pair. */
const byCarol = (): WrapSender => ({ userId: carolId, privateKey: carol.privateKey, publicKey: carol.publicKey })
/** Carol as the recipient knows her: the user named as wrapper and the public key known for her. */
const fromCarol = (): WrappedBy => ({ userId: carolId, publicKey: carol.publicKey })

beforeAll(async () => {
  ;[alice, bob, carol, mallory] = await Promise.all([createAccountKeys(), createAccountKeys(), createAccountKeys(), createAccountKeys()])
  collectionKey = crypto.getRandomValues(new Uint8Array(32))
  wrapped = await wrapCollectionKey(collectionKey, forAlice(), ctx, byCarol())
})

describe('round trip', () => {
  it('unwraps to the same 32 bytes for the member it was wrapped for, from the manager who wrapped it', async () => {
    expect(hex(await unwrapCollectionKey(wrapped, aliceAs(), ctx, fromCarol()))).toBe(hex(collectionKey))
  })

  it('has exactly the documented shape: v 1, enc 43 characters (32 bytes), c 64 characters (48 bytes)', () => {
    expect(Object.keys(wrapped).sort()).toEqual(['c', 'enc', 'v'])
    expect(wrapped.v).toBe(1)
    expect(wrapped.enc).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(wrapped.c).toMatch(/^[A-Za-z0-9_-]{64}$/)
    expect(JSON.parse(JSON.stringify(wrapped))).toEqual(wrapped)
  })

  it('draws a fresh ephemeral key each time: the same key wrapped twice differs, both unwrap', async () => {
    const again = await wrapCollectionKey(collectionKey, forAlice(), ctx, byCarol())
    expect(again.enc).not.toBe(wrapped.enc)
    expect(again.c).not.toBe(wrapped.c)
    expect(hex(await unwrapCollectionKey(again, aliceAs(), ctx, fromCarol()))).toBe(hex(collectionKey))
  })

  it('wraps one key for several members, each opening only their own', async () => {
    const forBob = await wrapCollectionKey(collectionKey, { userId: bobId, keyVersion: 1, publicKey: bob.publicKey }, ctx, byCarol())
    const bobAs = { userId: bobId, keyVersion: 1, privateKey: bob.privateKey, publicKey: bob.publicKey }
    expect(hex(await unwrapCollectionKey(forBob, bobAs, ctx, fromCarol()))).toBe(hex(collectionKey))
    await unwrapFails(unwrapCollectionKey(wrapped, bobAs, ctx, fromCarol()), 'authentication-failed')
  })

  it('a manager wraps for themselves too (sender and recipient the same account)', async () => {
    const carolAs = { userId: carolId, keyVersion: 1, privateKey: carol.privateKey, publicKey: carol.publicKey }
    const own = await wrapCollectionKey(collectionKey, { userId: carolId, keyVersion: 1, publicKey: carol.publicKey }, ctx, byCarol())
    expect(hex(await unwrapCollectionKey(own, carolAs, ctx, fromCarol()))).toBe(hex(collectionKey))
  })

  it('gives a key that encrypts and decrypts records (non-extractable through importKeyRaw)', async () => {
    const key = await importKeyRaw(await unwrapCollectionKey(wrapped, aliceAs(), ctx, fromCarol()))
    expect(key.extractable).toBe(false)
    const ref = { collectionId: ctx.collectionId, recordId: 'n-1', epoch: ctx.epoch }
    const envelope = await encryptRecord(await importKeyRaw(collectionKey), { ...ref, data: { title: 'shared' } })
    expect(await decryptRecord(key, ref, envelope)).toEqual({ title: 'shared' })
  })

  it('accepts the widest epoch and key version, and ids with every allowed character', async () => {
    const wide = { collectionId: 'A-z_0.9~x', epoch: 0xffff_ffff }
    const sender = { ...byCarol(), userId: '~carol.9' }
    const w = await wrapCollectionKey(collectionKey, { userId: '~user.1', keyVersion: 0xffff_ffff, publicKey: alice.publicKey }, wide, sender)
    const me = { ...aliceAs(), userId: '~user.1', keyVersion: 0xffff_ffff }
    expect(hex(await unwrapCollectionKey(w, me, wide, { userId: '~carol.9', publicKey: carol.publicKey }))).toBe(hex(collectionKey))
  })
})

describe('who wrapped it: only the holder of the named wrapper’s key can make a wrapped key that opens', () => {
  it('refuses a wrap made with another key pair than the named wrapper’s (the operator’s own epoch, named as Carol’s)', async () => {
    const injected = await wrapCollectionKey(collectionKey, forAlice(), ctx, { userId: carolId, privateKey: mallory.privateKey, publicKey: mallory.publicKey })
    await unwrapFails(unwrapCollectionKey(injected, aliceAs(), ctx, fromCarol()), 'authentication-failed')
  })

  it('refuses Carol’s wrap checked against another public key for her (a key the server substituted, or Bob’s)', async () => {
    for (const publicKey of [mallory.publicKey, bob.publicKey]) {
      await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), ctx, { userId: carolId, publicKey }), 'authentication-failed')
    }
  })

  it('refuses a sender user id swapped: Carol’s wrap named as Bob’s, with Bob’s key or even with Carol’s', async () => {
    await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), ctx, { userId: bobId, publicKey: bob.publicKey }), 'authentication-failed')
    await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), ctx, { userId: bobId, publicKey: carol.publicKey }), 'authentication-failed')
  })

  it('refuses a wrap made as Bob by Bob’s key when the server names Carol as its wrapper', async () => {
    const byBob = await wrapCollectionKey(collectionKey, forAlice(), ctx, { userId: bobId, privateKey: bob.privateKey, publicKey: bob.publicKey })
    expect(hex(await unwrapCollectionKey(byBob, aliceAs(), ctx, { userId: bobId, publicKey: bob.publicKey }))).toBe(hex(collectionKey))
    await unwrapFails(unwrapCollectionKey(byBob, aliceAs(), ctx, fromCarol()), 'authentication-failed')
  })

  it('refuses a wrap made without a sender (HPKE base mode, same info and AAD): what anyone knowing Alice’s public key could make', async () => {
    const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() })
    const sender = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(new Uint8Array(alice.publicKey)), info: new TextEncoder().encode(HPKE_INFO) })
    const sealed = new Uint8Array(await sender.seal(new Uint8Array(collectionKey), collectionKeyAad(ctx, forAlice(), { userId: carolId })))
    const baseMode: WrappedKey = { v: 1, enc: toBase64url(new Uint8Array(sender.enc)), c: toBase64url(sealed) }
    await unwrapFails(unwrapCollectionKey(baseMode, aliceAs(), ctx, fromCarol()), 'authentication-failed')
  })

  it('is exactly as good as the wrapper key the caller gives: the operator’s wrap opens if its key is taken for Carol’s (hence Known keys)', async () => {
    const injected = await wrapCollectionKey(collectionKey, forAlice(), ctx, { userId: carolId, privateKey: mallory.privateKey, publicKey: mallory.publicKey })
    expect(hex(await unwrapCollectionKey(injected, aliceAs(), ctx, { userId: carolId, publicKey: mallory.publicKey }))).toBe(hex(collectionKey))
  })
})

describe('a wrapped key moved or changed is a KeyUnwrapError', () => {
  it('moved to another collection', async () => {
    const other = { ...ctx, collectionId: 'todos' }
    await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), other, fromCarol()), 'authentication-failed', other)
  })

  it('moved to another epoch', async () => {
    for (const epoch of [2, 4, 1]) {
      const other = { ...ctx, epoch }
      await unwrapFails(unwrapCollectionKey(wrapped, aliceAs(), other, fromCarol()), 'authentication-failed', other)
    }
  })

  it('handed to another user (relabelled: same key pair, another user id)', async () => {
    await unwrapFails(unwrapCollectionKey(wrapped, { ...aliceAs(), userId: bobId }, ctx, fromCarol()), 'authentication-failed')
  })

  it('passed off as made for another version of the member’s key', async () => {
    for (const keyVersion of [1, 3]) await unwrapFails(unwrapCollectionKey(wrapped, { ...aliceAs(), keyVersion }, ctx, fromCarol()), 'authentication-failed')
  })

  it('opened with another private key (the member replaced their key, or it was made for someone else)', async () => {
    const bobAs = { userId: aliceId, keyVersion: 2, privateKey: bob.privateKey, publicKey: bob.publicKey }
    await unwrapFails(unwrapCollectionKey(wrapped, bobAs, ctx, fromCarol()), 'authentication-failed')
  })

  it.each([
    ['c, first byte', 'c', 0, 0],
    ['c, a middle byte', 'c', 20, 5],
    ['c, the last key byte', 'c', 31, 7],
    ['c, the tag', 'c', -1, 3],
    ['enc, first byte', 'enc', 0, 1],
    ['enc, last byte', 'enc', -1, 2]
  ] as const)('one bit flipped (%s)', async (_, field, byte, bit) => {
    await unwrapFails(unwrapCollectionKey(flipBit(wrapped, field, byte, bit), aliceAs(), ctx, fromCarol()), 'authentication-failed')
  })

  it('every single bit of c flipped in turn', async () => {
    const bits = fromBase64url(wrapped.c)!.length * 8
    for (let bit = 0; bit < bits; bit++) {
      await unwrapFails(unwrapCollectionKey(flipBit(wrapped, 'c', bit >> 3, bit & 7), aliceAs(), ctx, fromCarol()), 'authentication-failed')
    }
  })

  it('an enc that is a low-order point (all zeros) is malformed: HPKE refuses the all-zero shared secret', async () => {
    await unwrapFails(unwrapCollectionKey({ ...wrapped, enc: toBase64url(new Uint8Array(32)) }, aliceAs(), ctx, fromCarol()), 'malformed')
  })

  it('c and enc swapped between two wraps are refused', async () => {
    const other = await wrapCollectionKey(collectionKey, forAlice(), ctx, byCarol())
    await unwrapFails(unwrapCollectionKey({ ...wrapped, enc: other.enc }, aliceAs(), ctx, fromCarol()), 'authentication-failed')
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
    ['a wrapper carried inside (not in v1: the server keeps it apart)', () => ({ ...valid(), wrappedBy: carolId })],
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
    await unwrapFails(unwrapCollectionKey(make(), aliceAs(), ctx, fromCarol()), 'malformed')
  })

  it('does not guess at another version', async () => {
    const error = await unwrapFails(unwrapCollectionKey({ v: 2, enc: wrapped.enc, c: wrapped.c, x: 1 }, aliceAs(), ctx, fromCarol()), 'unsupported-version')
    expect(error.message).toContain('format version 2')
  })
})

describe('bad input from the caller is a ClientInputError, before any work', () => {
  const recipient = forAlice
  /** The X25519 point u = 1 (little-endian): of order 4, X25519 with it is all zeros for any clamped private key. */
  const lowOrderPoint = new Uint8Array(32).fill(0).map((_, index) => (index === 0 ? 1 : 0))
  it.each([
    ['a 31-byte key', () => wrapCollectionKey(new Uint8Array(31), recipient(), ctx, byCarol())],
    ['a 33-byte key', () => wrapCollectionKey(new Uint8Array(33), recipient(), ctx, byCarol())],
    ['epoch 0', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 0 }, byCarol())],
    ['epoch 2^32', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 2 ** 32 }, byCarol())],
    ['epoch 1.5', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, epoch: 1.5 }, byCarol())],
    ['keyVersion 0', () => wrapCollectionKey(collectionKey, { ...recipient(), keyVersion: 0 }, ctx, byCarol())],
    ['an invalid collection id', () => wrapCollectionKey(collectionKey, recipient(), { ...ctx, collectionId: 'a/b' }, byCarol())],
    ['an empty user id', () => wrapCollectionKey(collectionKey, { ...recipient(), userId: '' }, ctx, byCarol())],
    ['a 31-byte public key', () => wrapCollectionKey(collectionKey, { ...recipient(), publicKey: new Uint8Array(31) }, ctx, byCarol())],
    ['a low-order public key (all zeros: anyone could open the wrap)', () => wrapCollectionKey(collectionKey, { ...recipient(), publicKey: new Uint8Array(32) }, ctx, byCarol())],
    ['a low-order public key (u = 1)', () => wrapCollectionKey(collectionKey, { ...recipient(), publicKey: lowOrderPoint }, ctx, byCarol())],
    ['no sender', () => wrapCollectionKey(collectionKey, recipient(), ctx, undefined as unknown as WrapSender)],
    ['an empty sender user id', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), userId: '' })],
    ['a sender private key that is not the sender public key’s', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), publicKey: mallory.publicKey })],
    ['a 31-byte sender private key', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), privateKey: new Uint8Array(31) })],
    ['an all-zero sender private key', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), privateKey: new Uint8Array(32), publicKey: x25519.getPublicKey(new Uint8Array(32)) })],
    ['a 33-byte sender public key', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), publicKey: new Uint8Array(33) })],
    ['an all-zero sender public key', () => wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), publicKey: new Uint8Array(32) })],
    ['a private key that is not the public key’s', () => unwrapCollectionKey(wrapped, { ...aliceAs(), publicKey: bob.publicKey }, ctx, fromCarol())],
    ['a 31-byte private key', () => unwrapCollectionKey(wrapped, { ...aliceAs(), privateKey: new Uint8Array(31) }, ctx, fromCarol())],
    ['epoch 0 when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), { ...ctx, epoch: 0 }, fromCarol())],
    ['keyVersion -1 when unwrapping', () => unwrapCollectionKey(wrapped, { ...aliceAs(), keyVersion: -1 }, ctx, fromCarol())],
    ['no sender when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), ctx, undefined as unknown as WrappedBy)],
    ['an invalid sender user id when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), ctx, { ...fromCarol(), userId: 'a/b' })],
    ['a 31-byte sender public key when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), ctx, { ...fromCarol(), publicKey: new Uint8Array(31) })],
    ['an all-zero sender public key when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), ctx, { ...fromCarol(), publicKey: new Uint8Array(32) })],
    ['a low-order sender public key (u = 1) when unwrapping', () => unwrapCollectionKey(wrapped, aliceAs(), ctx, { ...fromCarol(), publicKey: lowOrderPoint })]
  ])('%s', async (_, call) => {
    await expect(call()).rejects.toThrow(ClientInputError)
  })

  it('names the sender in the message', async () => {
    await expect(wrapCollectionKey(collectionKey, recipient(), ctx, { ...byCarol(), publicKey: mallory.publicKey })).rejects.toThrow('sender.publicKey is not the public key of sender.privateKey')
    await expect(unwrapCollectionKey(wrapped, aliceAs(), ctx, { ...fromCarol(), publicKey: lowOrderPoint })).rejects.toThrow(`sender.publicKey of user ${carolId} is not a usable X25519 public key`)
  })
})

describe('the worked example in docs/ENCRYPTION.md', () => {
  interface Example {
    recipientPrivateKeyHex: string
    recipientPublicKeyHex: string
    userId: string
    keyVersion: number
    senderSecretHex: string
    senderPrivateKeyHex: string
    senderPublicKeyHex: string
    senderUserId: string
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

  it('documents the info, the AAD label and Auth mode as the code uses them', () => {
    expect(ex.info).toBe(HPKE_INFO)
    expect(doc).toContain(`\`${HPKE_INFO}\``)
    expect(doc).toContain(`AAD = "${AAD_LABEL}"`)
    expect(doc).toContain('**Auth mode**')
    expect(doc).toContain('‖ u32be(len(S)) ‖ S')
  })

  it('is the account of the account-keys example, wrapped by the account of secret 606162…7f', async () => {
    const account = await deriveAccountKeys(new Uint8Array(32).map((_, index) => index))
    expect([hex(account.privateKey), hex(account.publicKey)]).toEqual([ex.recipientPrivateKeyHex, ex.recipientPublicKeyHex])
    expect(ex.senderSecretHex).toBe(hex(new Uint8Array(32).map((_, index) => 96 + index)))
    const sender = await deriveAccountKeys(unhex(ex.senderSecretHex))
    expect([hex(sender.privateKey), hex(sender.publicKey)]).toEqual([ex.senderPrivateKeyHex, ex.senderPublicKeyHex])
  })

  it('the RFC 9180 Auth mode written out here gives RFC 9180’s own test vector A.1.3 (X25519, HKDF-SHA256, AES-128-GCM)', async () => {
    const v = RFC9180_A13
    expect(hex(x25519.getPublicKey(unhex(v.skSm)))).toBe(v.pkSm)
    const setup = hpkeSetupAuthS(unhex(v.pkRm), unhex(v.skSm), unhex(v.skEm), unhex(v.info), { aeadId: 0x0001, keyBytes: 16 })
    expect({ enc: hex(setup.enc), shared: hex(setup.sharedSecret), key: hex(setup.key), nonce: hex(setup.baseNonce) }).toEqual({
      enc: v.enc,
      shared: v.sharedSecret,
      key: v.key,
      nonce: v.baseNonce
    })
    const key = await crypto.subtle.importKey('raw', setup.key, 'AES-GCM', false, ['encrypt'])
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: setup.baseNonce, additionalData: unhex(v.aad) }, key, unhex(v.pt))
    expect(hex(new Uint8Array(ct))).toBe(v.ct)
  })

  it('re-derives every value with RFC 9180 Auth mode written out here (not the library)', () => {
    const ids = { collectionId: ex.collectionId, epoch: ex.epoch }
    const aad = collectionKeyAad(ids, { userId: ex.userId, keyVersion: ex.keyVersion }, { userId: ex.senderUserId })
    expect(hex(aad)).toBe(ex.aadHex)
    expect(hex(aad)).toBe(hex(handAad(ex)))
    const setup = hpkeSetupAuthS(unhex(ex.recipientPublicKeyHex), unhex(ex.senderPrivateKeyHex), unhex(ex.ephemeralPrivateKeyHex), new TextEncoder().encode(ex.info))
    expect({ enc: hex(setup.enc), shared: hex(setup.sharedSecret), key: hex(setup.key), nonce: hex(setup.baseNonce) }).toEqual({
      enc: ex.encHex,
      shared: ex.sharedSecretHex,
      key: ex.keyHex,
      nonce: ex.baseNonceHex
    })
    expect(toBase64url(setup.enc)).toBe(ex.wrappedKey.enc)
  })

  it('seals to the documented c with the AEAD key and nonce derived above (WebCrypto AES-GCM)', async () => {
    const key = await crypto.subtle.importKey('raw', unhex(ex.keyHex), 'AES-GCM', false, ['encrypt'])
    const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: unhex(ex.baseNonceHex), additionalData: unhex(ex.aadHex) }, key, unhex(ex.collectionKeyHex))
    expect(toBase64url(new Uint8Array(c))).toBe(ex.wrappedKey.c)
  })

  it('the library, given the documented ephemeral key, writes the documented wrapped key; it unwraps to the documented collection key, from the documented sender only', async () => {
    const ids = { collectionId: ex.collectionId, epoch: ex.epoch }
    const recipient = { userId: ex.userId, keyVersion: ex.keyVersion, publicKey: unhex(ex.recipientPublicKeyHex) }
    const sender = { userId: ex.senderUserId, privateKey: unhex(ex.senderPrivateKeyHex), publicKey: unhex(ex.senderPublicKeyHex) }
    expect(await sealCollectionKey(unhex(ex.collectionKeyHex), recipient, ids, sender, unhex(ex.ephemeralPrivateKeyHex))).toEqual(ex.wrappedKey)
    const me = { ...recipient, privateKey: unhex(ex.recipientPrivateKeyHex) }
    const wrappedBy = { userId: ex.senderUserId, publicKey: unhex(ex.senderPublicKeyHex) }
    expect(hex(await unwrapCollectionKey(ex.wrappedKey, me, ids, wrappedBy))).toBe(ex.collectionKeyHex)
    await expect(unwrapCollectionKey(ex.wrappedKey, me, ids, { ...wrappedBy, publicKey: unhex(ex.recipientPublicKeyHex) })).rejects.toThrow(KeyUnwrapError)
  })
})

/** The documented AAD, byte by byte: label ‖ 0x01 ‖ lp(C) ‖ u32(epoch) ‖ lp(U) ‖ u32(keyVersion) ‖ lp(S). */
function handAad(ex: { collectionId: string; epoch: number; userId: string; keyVersion: number; senderUserId: string }): Uint8Array {
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
  const lp = (text: string) => Buffer.concat([u32(Buffer.byteLength(text)), Buffer.from(text)])
  return Buffer.concat([
    Buffer.from('roost.collection-key'),
    Buffer.from([1]),
    lp(ex.collectionId),
    u32(ex.epoch),
    lp(ex.userId),
    u32(ex.keyVersion),
    lp(ex.senderUserId)
  ])
}

/**
 * RFC 9180 §4.1 (DHKEM AuthEncap) and §5.1 (KeySchedule, mode_auth = 0x02),
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM unless told
 * otherwise: SetupAuthS up to key and base_nonce.
 *
 *   dh          = DH(skE, pkR) ‖ DH(skS, pkR)
 *   kem_context = enc ‖ pkRm ‖ pkSm
 */
function hpkeSetupAuthS(pkR: Uint8Array, skS: Uint8Array, skE: Uint8Array, info: Uint8Array, aead = { aeadId: 0x0002, keyBytes: 32 }) {
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
  const suiteId = Buffer.concat([ascii('HPKE'), Buffer.from([0x00, 0x20, 0x00, 0x01, aead.aeadId >> 8, aead.aeadId & 255])])
  const labeledExtract = (sid: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) => extract(salt, Buffer.concat([ascii('HPKE-v1'), sid, ascii(label), ikm]))
  const labeledExpand = (sid: Uint8Array, prk: Uint8Array, label: string, infoBytes: Uint8Array, length: number) =>
    expand(prk, Buffer.concat([Buffer.from([length >> 8, length & 255]), ascii('HPKE-v1'), sid, ascii(label), infoBytes]), length)
  const empty = new Uint8Array(0)
  const modeAuth = 0x02

  const enc = x25519.getPublicKey(skE)
  const pkS = x25519.getPublicKey(skS)
  const dh = Buffer.concat([x25519.getSharedSecret(skE, pkR), x25519.getSharedSecret(skS, pkR)])
  const kemContext = Buffer.concat([enc, pkR, pkS])
  const sharedSecret = labeledExpand(kemId, labeledExtract(kemId, empty, 'eae_prk', dh), 'shared_secret', kemContext, 32)
  const context = Buffer.concat([Buffer.from([modeAuth]), labeledExtract(suiteId, empty, 'psk_id_hash', empty), labeledExtract(suiteId, empty, 'info_hash', info)])
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', empty)
  return { enc, sharedSecret, key: labeledExpand(suiteId, secret, 'key', context, aead.keyBytes), baseNonce: labeledExpand(suiteId, secret, 'base_nonce', context, 12) }
}

/** RFC 9180 Appendix A.1.3: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, Auth mode; its first encryption (sequence number 0). */
const RFC9180_A13 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  skEm: 'ff4442ef24fbc3c1ff86375b0be1e77e88a0de1e79b30896d73411c5ff4c3518',
  pkRm: '1632d5c2f71c2b38d0a8fcc359355200caa8b1ffdf28618080466c909cb69b2e',
  skSm: 'dc4a146313cce60a278a5323d321f051c5707e9c45ba21a3479fecdf76fc69dd',
  pkSm: '8b0c70873dc5aecb7f9ee4e62406a397b350e57012be45cf53b7105ae731790b',
  enc: '23fb952571a14a25e3d678140cd0e5eb47a0961bb18afcf85896e5453c312e76',
  sharedSecret: '2d6db4cf719dc7293fcbf3fa64690708e44e2bebc81f84608677958c0d4448a7',
  key: 'b062cb2c4dd4bca0ad7c7a12bbc341e6',
  baseNonce: 'a1bc314c1942ade7051ffed0',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  aad: '436f756e742d30',
  ct: '5fd92cc9d46dbf8943e72a07e42f363ed5f721212cd90bcfd072bfd9f44e06b80fd17824947496e21b680c141b'
}
