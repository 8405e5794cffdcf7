/**
 * The passphrase copy of the account secret (src/client/crypto/passphrase.ts,
 * docs/ENCRYPTION.md "Passphrase copy of the account secret (format v1)")
 * with the real hash-wasm Argon2id and Node's WebCrypto: round trips (NFKC
 * included), a wrong passphrase or changed bytes is a WrongPassphraseError,
 * parameters out of the contract's bounds are refused before any Argon2 run,
 * too-short passphrases are a ClientInputError, strict shape checks, and the
 * documented worked example, with the Argon2id key re-derived by an
 * independent implementation (@node-rs/argon2, the server's password hasher).
 */
import { readFile } from 'node:fs/promises'
import { hashRaw } from '@node-rs/argon2'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientInputError } from '../../../src/client/errors.js'
import { fromBase64url, toBase64url } from '../../../src/client/crypto/base64url.js'
import { AAD_LABEL, passphraseAad, sealSecret } from '../../../src/client/crypto/passphrase-seal.js'
import {
  ARGON2_BOUNDS,
  DEFAULT_ARGON2,
  InvalidPassphraseWrapError,
  WrongPassphraseError,
  unwrapSecretWithPassphrase,
  wrapSecretWithPassphrase,
  type Argon2Params,
  type PassphraseWrap,
  type PassphraseWrapProblem
} from '../../../src/client/crypto/passphrase.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
/** The cheapest parameters the format allows: keeps each Argon2id run near 50 ms. */
const cheap: Argon2Params = { m: ARGON2_BOUNDS.m.min, t: 1, p: 1 }
const userId = 'a1e0c0de-0000-4000-8000-000000000001'
const passphrase = 'correct horse battery staple'
/** `@node-rs/argon2`'s Algorithm.Argon2id: a const enum, which vitest's esbuild cannot inline (see src/auth/passwords.ts). */
const ARGON2ID_ALGORITHM = 2

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (caught: unknown) => caught
  )
}

async function wrongPassphrase(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise)
  expect(error).toBeInstanceOf(WrongPassphraseError)
  expect((error as Error).name).toBe('WrongPassphraseError')
}

async function invalidWrap(promise: Promise<unknown>, problem: PassphraseWrapProblem): Promise<InvalidPassphraseWrapError> {
  const error = await rejection(promise)
  expect(error).toBeInstanceOf(InvalidPassphraseWrapError)
  const typed = error as InvalidPassphraseWrapError
  expect({ name: typed.name, problem: typed.problem }).toEqual({ name: 'InvalidPassphraseWrapError', problem })
  return typed
}

let secret: Uint8Array
let wrap: PassphraseWrap

beforeAll(async () => {
  secret = crypto.getRandomValues(new Uint8Array(32))
  wrap = await wrapSecretWithPassphrase(secret, passphrase, { userId, params: cheap })
})

describe('round trip', () => {
  it('opens with the passphrase to the same 32 bytes', async () => {
    expect(hex(await unwrapSecretWithPassphrase(wrap, passphrase, { userId }))).toBe(hex(secret))
  })

  it('has exactly the shape of ENC_API’s PassphraseWrap', () => {
    expect(Object.keys(wrap).sort()).toEqual(['c', 'kdf', 'm', 'n', 'p', 'salt', 't', 'v'])
    expect({ v: wrap.v, kdf: wrap.kdf, m: wrap.m, t: wrap.t, p: wrap.p }).toEqual({ v: 1, kdf: 'argon2id', ...cheap })
    expect(wrap.salt).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(wrap.n).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(wrap.c).toMatch(/^[A-Za-z0-9_-]{64}$/)
  })

  it('draws a fresh salt and nonce for every copy', async () => {
    const again = await wrapSecretWithPassphrase(secret, passphrase, { userId, params: cheap })
    expect(again.salt).not.toBe(wrap.salt)
    expect(again.n).not.toBe(wrap.n)
    expect(again.c).not.toBe(wrap.c)
  })

  it('uses 64 MiB, t=3, p=1 when no parameters are given', async () => {
    expect(DEFAULT_ARGON2).toEqual({ m: 65_536, t: 3, p: 1 })
    const strong = await wrapSecretWithPassphrase(secret, passphrase, { userId })
    expect({ m: strong.m, t: strong.t, p: strong.p }).toEqual(DEFAULT_ARGON2)
    expect(hex(await unwrapSecretWithPassphrase(strong, passphrase, { userId }))).toBe(hex(secret))
  })

  it('opens with the same passphrase in another Unicode form (NFKC): decomposed accents, full-width letters, ligatures', async () => {
    const typed = await wrapSecretWithPassphrase(secret, 'cafe\u0301 ｐａｓｓ ﬁve', { userId, params: cheap })
    expect(hex(await unwrapSecretWithPassphrase(typed, 'café pass five', { userId }))).toBe(hex(secret))
  })

  it('changes nothing else: case, and spaces at either end, count', async () => {
    await wrongPassphrase(unwrapSecretWithPassphrase(wrap, passphrase.toUpperCase(), { userId }))
    await wrongPassphrase(unwrapSecretWithPassphrase(wrap, ` ${passphrase}`, { userId }))
    await wrongPassphrase(unwrapSecretWithPassphrase(wrap, `${passphrase} `, { userId }))
  })
})

describe('a wrong passphrase or a changed copy is a WrongPassphraseError', () => {
  it('a wrong passphrase', async () => {
    await wrongPassphrase(unwrapSecretWithPassphrase(wrap, 'correct horse battery stapler', { userId }))
  })

  it('another account’s copy (the server handing out someone else’s)', async () => {
    await wrongPassphrase(unwrapSecretWithPassphrase(wrap, passphrase, { userId: 'b0b0c0de-0000-4000-8000-000000000002' }))
  })

  const flip = (field: 'c' | 'n' | 'salt', byte: number) => {
    const bytes = fromBase64url(wrap[field])!
    bytes[byte < 0 ? bytes.length + byte : byte] ^= 1
    return { ...wrap, [field]: toBase64url(bytes) }
  }
  it.each([
    ['a bit of c', () => flip('c', 0)],
    ['a bit of the tag', () => flip('c', -1)],
    ['a bit of the nonce', () => flip('n', 5)],
    ['a bit of the salt', () => flip('salt', 15)],
    ['t changed (still within bounds)', () => ({ ...wrap, t: 2 })],
    ['m changed (still within bounds)', () => ({ ...wrap, m: wrap.m + 8 })],
    ['p changed (still within bounds)', () => ({ ...wrap, p: 2 })]
  ])('%s', async (_, make) => {
    await wrongPassphrase(unwrapSecretWithPassphrase(make(), passphrase, { userId }))
  })
})

describe('Argon2id parameters', () => {
  it.each([
    ['m below the floor (19455 KiB)', { ...cheap, m: 19_455 }],
    ['m above the ceiling (1 GiB + 1 KiB)', { ...cheap, m: 1_048_577 }],
    ['t 0', { ...cheap, t: 0 }],
    ['t 11', { ...cheap, t: 11 }],
    ['p 0', { ...cheap, p: 0 }],
    ['p 5', { ...cheap, p: 5 }],
    ['m not an integer', { ...cheap, m: 19_456.5 }],
    ['m as a string', { ...cheap, m: '65536' as unknown as number }]
  ])('the reader refuses %s as malformed', async (_, params) => {
    const error = await invalidWrap(unwrapSecretWithPassphrase({ ...wrap, ...params }, passphrase, { userId }), 'malformed')
    expect(error.message).toContain('Argon2id parameter')
  })

  it('refuses before running Argon2: m = 4 GiB is answered at once (running it would take seconds, or fail to allocate)', async () => {
    const started = performance.now()
    await invalidWrap(unwrapSecretWithPassphrase({ ...wrap, m: 4 * 1024 * 1024 }, passphrase, { userId }), 'malformed')
    expect(performance.now() - started).toBeLessThan(500)
  })

  it.each([
    ['m 8192 KiB (below the floor)', { ...cheap, m: 8192 }],
    ['t 0', { ...cheap, t: 0 }],
    ['p 8', { ...cheap, p: 8 }]
  ])('the writer refuses %s with a ClientInputError (the server would not store it)', async (_, params) => {
    await expect(wrapSecretWithPassphrase(secret, passphrase, { userId, params })).rejects.toThrow(ClientInputError)
  })

  it('accepts the bounds themselves (p = 4 here; the ceiling of m would take 1 GiB)', async () => {
    const four = await wrapSecretWithPassphrase(secret, passphrase, { userId, params: { m: ARGON2_BOUNDS.m.min, t: 1, p: ARGON2_BOUNDS.p.max } })
    expect(hex(await unwrapSecretWithPassphrase(four, passphrase, { userId }))).toBe(hex(secret))
  })
})

describe('passphrase length', () => {
  it.each([
    ['7 characters', 'abcdefg'],
    ['the empty string', ''],
    ['4 emoji (8 UTF-16 units, but 4 characters)', '👋👋👋👋']
  ])('refuses %s with a ClientInputError, when wrapping and when unwrapping', async (_, short) => {
    const error = await rejection(wrapSecretWithPassphrase(secret, short, { userId, params: cheap }))
    expect(error).toBeInstanceOf(ClientInputError)
    expect((error as Error).message).toContain('at least 8 characters')
    await expect(unwrapSecretWithPassphrase(wrap, short, { userId })).rejects.toThrow(ClientInputError)
  })

  it('accepts exactly 8 characters, counted after NFKC (ﬁ is two)', async () => {
    for (const ok of ['abcdefgh', '\ufb01abcdef']) {
      const copy = await wrapSecretWithPassphrase(secret, ok, { userId, params: cheap })
      expect(hex(await unwrapSecretWithPassphrase(copy, ok, { userId }))).toBe(hex(secret))
    }
  })

  it('refuses a passphrase that is not a string', async () => {
    await expect(wrapSecretWithPassphrase(secret, 12345678 as unknown as string, { userId, params: cheap })).rejects.toThrow(ClientInputError)
  })
})

describe('strict shape', () => {
  const valid = () => wrap as unknown as Record<string, unknown>
  const without = (field: string) => Object.fromEntries(Object.entries(valid()).filter(([key]) => key !== field))
  const resized = (field: 'salt' | 'n' | 'c', delta: number) => {
    const bytes = fromBase64url(wrap[field])!
    return { ...valid(), [field]: toBase64url(delta < 0 ? bytes.subarray(-delta) : new Uint8Array([...bytes, ...new Uint8Array(delta)])) }
  }
  it.each([
    ['null', () => null],
    ['a JSON string', () => JSON.stringify(wrap)],
    ['an array', () => [wrap]],
    ['no v', () => without('v')],
    ['no kdf', () => without('kdf')],
    ['no salt', () => without('salt')],
    ['no c', () => without('c')],
    ['an extra field', () => ({ ...valid(), userId })],
    ['kdf "argon2i"', () => ({ ...valid(), kdf: 'argon2i' })],
    ['a 15-byte salt', () => resized('salt', -1)],
    ['a 17-byte salt', () => resized('salt', 1)],
    ['an 11-byte nonce', () => resized('n', -1)],
    ['a 47-byte c', () => resized('c', -1)],
    ['a 49-byte c', () => resized('c', 1)],
    ['padding "="', () => ({ ...valid(), salt: `${wrap.salt}==` })],
    ['standard base64', () => ({ ...valid(), c: `+/${wrap.c.slice(2)}` })]
  ])('refuses %s as malformed', async (_, make) => {
    await invalidWrap(unwrapSecretWithPassphrase(make(), passphrase, { userId }), 'malformed')
  })

  it('does not guess at another version', async () => {
    const error = await invalidWrap(unwrapSecretWithPassphrase({ v: 2, kdf: 'scrypt' }, passphrase, { userId }), 'unsupported-version')
    expect(error.message).toContain('format version 2')
  })

  it('refuses bad input from the caller with a ClientInputError', async () => {
    await expect(wrapSecretWithPassphrase(new Uint8Array(31), passphrase, { userId, params: cheap })).rejects.toThrow(ClientInputError)
    await expect(wrapSecretWithPassphrase(secret, passphrase, { userId: '', params: cheap })).rejects.toThrow(ClientInputError)
    await expect(unwrapSecretWithPassphrase(wrap, passphrase, { userId: 'a/b' })).rejects.toThrow(ClientInputError)
  })
})

describe('the worked example in docs/ENCRYPTION.md', () => {
  interface Example {
    secretHex: string
    passphrase: string
    normalizedHex: string
    userId: string
    saltHex: string
    nonceHex: string
    params: Argon2Params
    keyHex: string
    aadHex: string
    wrap: PassphraseWrap
  }
  let ex: Example
  let doc: string

  beforeAll(async () => {
    doc = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
    const blocks = fencedBlocks(doc, 'docs/ENCRYPTION.md').filter((b) => b.marker === '<!-- worked-example: passphrase-wrap-v1 -->')
    expect(blocks).toHaveLength(1)
    expect(blocks[0].lang).toBe('json')
    ex = JSON.parse(blocks[0].code) as Example
  })

  it('documents the AAD label, the bounds and the defaults the code uses', () => {
    expect(doc).toContain(`AAD  = "${AAD_LABEL}"`)
    const { m, t, p } = ARGON2_BOUNDS
    expect(doc).toContain(`m = ${m.min}…${m.max} KiB, t = ${t.min}…${t.max},\n  p = ${p.min}…${p.max}`)
    expect(doc).toContain(`m = ${DEFAULT_ARGON2.m} KiB (64 MiB), t = ${DEFAULT_ARGON2.t}, p = ${DEFAULT_ARGON2.p}`)
  })

  it('re-derives the normalized passphrase, the AAD and the Argon2id key (with @node-rs/argon2, not hash-wasm)', async () => {
    const normalized = new TextEncoder().encode(ex.passphrase.normalize('NFKC'))
    expect(hex(normalized)).toBe(ex.normalizedHex)
    expect(ex.passphrase).not.toBe(ex.passphrase.normalize('NFKC'))
    expect(hex(passphraseAad(ex.userId))).toBe(ex.aadHex)
    const lp = Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(ex.userId)]), Buffer.from(ex.userId)])
    expect(ex.aadHex).toBe(hex(Buffer.concat([Buffer.from('roost.passphrase'), Buffer.from([1]), lp])))
    const key = await hashRaw(Buffer.from(normalized), {
      algorithm: ARGON2ID_ALGORITHM as never,
      salt: unhex(ex.saltHex),
      memoryCost: ex.params.m,
      timeCost: ex.params.t,
      parallelism: ex.params.p,
      outputLen: 32
    })
    expect(hex(key)).toBe(ex.keyHex)
  })

  it('seals to the documented c with that key (WebCrypto AES-GCM)', async () => {
    const key = await crypto.subtle.importKey('raw', unhex(ex.keyHex), 'AES-GCM', false, ['encrypt'])
    const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: unhex(ex.nonceHex), additionalData: unhex(ex.aadHex) }, key, unhex(ex.secretHex))
    expect(toBase64url(new Uint8Array(c))).toBe(ex.wrap.c)
  })

  it('the library, given the documented salt and nonce, writes the documented copy; it opens with the passphrase in either form', async () => {
    const copy = await sealSecret(unhex(ex.secretHex), ex.passphrase, { userId: ex.userId, params: ex.params, salt: unhex(ex.saltHex), nonce: unhex(ex.nonceHex) })
    expect(copy).toEqual(ex.wrap)
    for (const typed of [ex.passphrase, ex.passphrase.normalize('NFKC'), ex.passphrase.normalize('NFD')]) {
      expect(hex(await unwrapSecretWithPassphrase(ex.wrap, typed, { userId: ex.userId }))).toBe(ex.secretHex)
    }
  })
})
