/**
 * Account keys (src/client/crypto/account-keys.ts, docs/ENCRYPTION.md
 * "Account keys (format v1)") with Node's real WebCrypto, @scure/bip39 and
 * @noble/curves: the recovery phrase restores the same keys, every kind of
 * wrong phrase is an InvalidRecoveryPhraseError, fingerprints are stable and
 * tell keys apart, the X25519 pair agrees, checkKnownKey sees a changed key,
 * and the documented worked example, read from the document itself.
 */
import { readFile } from 'node:fs/promises'
import { x25519 } from '@noble/curves/ed25519.js'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientInputError } from '../../../src/client/errors.js'
import {
  HKDF_INFO,
  HKDF_SALT,
  InvalidRecoveryPhraseError,
  checkKnownKey,
  createAccountKeys,
  deriveAccountKeys,
  fingerprint,
  importRecoveryPhrase,
  recoveryPhrase,
  type AccountKeys,
  type RecoveryPhraseProblem
} from '../../../src/client/crypto/account-keys.js'
import { importKeyRaw } from '../../../src/client/crypto/keys.js'
import { fencedBlocks } from '../../docs/fenced-blocks.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))

/** Encrypts with one AES-GCM key and decrypts with the other: proves they are the same key without exporting either. */
async function sameAesKey(a: CryptoKey, b: CryptoKey): Promise<boolean> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const plain = new TextEncoder().encode('the account’s own secret')
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, a, plain)
  try {
    return hex(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, b, sealed))) === hex(plain)
  } catch {
    return false
  }
}

/** Resolves to the InvalidRecoveryPhraseError the call fails with; fails the test on anything else. */
async function invalid(phrase: string, problem: RecoveryPhraseProblem): Promise<InvalidRecoveryPhraseError> {
  const error = await importRecoveryPhrase(phrase).then(
    () => undefined,
    (caught: unknown) => caught
  )
  expect(error).toBeInstanceOf(InvalidRecoveryPhraseError)
  const typed = error as InvalidRecoveryPhraseError
  expect({ name: typed.name, problem: typed.problem }).toEqual({ name: 'InvalidRecoveryPhraseError', problem })
  return typed
}

describe('createAccountKeys', () => {
  it('makes a 32-byte secret, a 32-byte X25519 pair and a non-extractable AES-256-GCM wrapping key', async () => {
    const keys = await createAccountKeys()
    expect([keys.secret.length, keys.privateKey.length, keys.publicKey.length]).toEqual([32, 32, 32])
    expect(hex(keys.publicKey)).toBe(hex(x25519.getPublicKey(keys.privateKey)))
    expect(keys.wrappingKey.extractable).toBe(false)
    expect(keys.wrappingKey.algorithm).toEqual({ name: 'AES-GCM', length: 256 })
    expect([...keys.wrappingKey.usages].sort()).toEqual(['decrypt', 'encrypt'])
    await expect(crypto.subtle.exportKey('raw', keys.wrappingKey)).rejects.toThrow()
  })

  it('draws a fresh secret each time, so two accounts share no key', async () => {
    const [a, b] = await Promise.all([createAccountKeys(), createAccountKeys()])
    expect(hex(a.secret)).not.toBe(hex(b.secret))
    expect(hex(a.publicKey)).not.toBe(hex(b.publicKey))
    expect(await sameAesKey(a.wrappingKey, b.wrappingKey)).toBe(false)
  })

  it('derives the X25519 private key and the wrapping key from distinct HKDF labels', async () => {
    expect(HKDF_INFO.x25519).not.toBe(HKDF_INFO.wrappingKey)
    const keys = await createAccountKeys()
    const wrappingRaw = await hkdf(keys.secret, HKDF_INFO.wrappingKey)
    expect(hex(wrappingRaw)).not.toBe(hex(keys.privateKey))
    expect(await sameAesKey(keys.wrappingKey, await importKeyRaw(wrappingRaw))).toBe(true)
  })

  it('keeps its own copy of the secret: changing the caller’s array changes nothing', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32))
    const keys = await deriveAccountKeys(secret)
    const before = hex(keys.secret)
    secret.fill(0)
    expect(hex(keys.secret)).toBe(before)
  })

  it.each([
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['a string', 'secret'],
    ['null', null]
  ])('refuses a secret of %s with a ClientInputError', async (_, secret) => {
    await expect(deriveAccountKeys(secret as Uint8Array)).rejects.toThrow(ClientInputError)
    expect(() => recoveryPhrase(secret as Uint8Array)).toThrow(ClientInputError)
  })
})

describe('recovery phrase', () => {
  let keys: AccountKeys
  let phrase: string

  beforeAll(async () => {
    keys = await createAccountKeys()
    phrase = recoveryPhrase(keys.secret)
  })

  it('is 24 words of the BIP-39 English list', () => {
    const words = phrase.split(' ')
    expect(words).toHaveLength(24)
    for (const word of words) expect(wordlist).toContain(word)
  })

  it('imports to the same secret, the same key pair (byte for byte) and the same wrapping key', async () => {
    const imported = await importRecoveryPhrase(phrase)
    expect(hex(imported.secret)).toBe(hex(keys.secret))
    expect(hex(imported.privateKey)).toBe(hex(keys.privateKey))
    expect(hex(imported.publicKey)).toBe(hex(keys.publicKey))
    // Encrypt on the first device, decrypt on the second, and back.
    expect(await sameAesKey(keys.wrappingKey, imported.wrappingKey)).toBe(true)
    expect(await sameAesKey(imported.wrappingKey, keys.wrappingKey)).toBe(true)
  })

  it('round-trips many random secrets', async () => {
    for (let i = 0; i < 50; i++) {
      const secret = crypto.getRandomValues(new Uint8Array(32))
      expect(hex((await importRecoveryPhrase(recoveryPhrase(secret))).secret)).toBe(hex(secret))
    }
  })

  it('ignores case and any whitespace between words, as typed or pasted', async () => {
    const words = phrase.split(' ')
    const messy = `\n  ${words.slice(0, 12).join('  ').toUpperCase()}\t\r\n${words
      .slice(12)
      .map((w, i) => (i % 2 ? w : w[0].toUpperCase() + w.slice(1)))
      .join(' \u00a0 ')}  \n`
    expect(hex((await importRecoveryPhrase(messy)).publicKey)).toBe(hex(keys.publicKey))
  })

  describe('a wrong phrase is an InvalidRecoveryPhraseError naming the problem', () => {
    // A fixed phrase (secret 0…31), so that each change below is known to break the checksum (1 in 256 random ones would not).
    const fixed = recoveryPhrase(Uint8Array.from({ length: 32 }, (_, i) => i))

    it.each([0, 1, 12, 23, 25, 48])('%i words: wrong-length', async (count) => {
      const words = Array.from({ length: count }, (_, i) => phrase.split(' ')[i % 24])
      const error = await invalid(words.join(' '), 'wrong-length')
      expect(error.message).toContain(`${count} word`)
      expect(error.message).toContain('24')
    })

    it('a 12-word BIP-39 wallet phrase (valid checksum, 128 bits): wrong-length', async () => {
      await invalid('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', 'wrong-length')
    })

    it('a word not in the list: unknown-word, with its position and a suggestion after a typo', async () => {
      const words = fixed.split(' ')
      const typo = `${words[6].slice(0, 4)}zz`
      words[6] = typo
      const error = await invalid(words.join(' '), 'unknown-word')
      expect(error.position).toBe(7)
      expect(error.message).toContain(`word 7 ("${typo}")`)
      expect(error.message).toContain(`did you mean "${fixed.split(' ')[6]}"`)
    })

    it('a word of another language: unknown-word, no suggestion', async () => {
      const words = fixed.split(' ')
      words[0] = 'ábaco'
      const error = await invalid(words.join(' '), 'unknown-word')
      expect(error.position).toBe(1)
      expect(error.message).not.toContain('did you mean')
    })

    it('a word replaced by another valid word: bad-checksum', async () => {
      const words = fixed.split(' ')
      // The last word holds 3 bits of secret and the 8 of checksum: change only secret bits elsewhere.
      words[3] = wordlist[(wordlist.indexOf(words[3]) + 1) % 2048]
      await invalid(words.join(' '), 'bad-checksum')
    })

    it('two words swapped: bad-checksum', async () => {
      const words = fixed.split(' ')
      const i = words.findIndex((w, index) => index > 0 && w !== words[0])
      ;[words[0], words[i]] = [words[i], words[0]]
      await invalid(words.join(' '), 'bad-checksum')
    })

    it('a message that never repeats the phrase', async () => {
      const words = fixed.split(' ')
      words[5] = wordlist[(wordlist.indexOf(words[5]) + 7) % 2048]
      const error = await invalid(words.join(' '), 'bad-checksum')
      for (let i = 0; i + 1 < words.length; i++) expect(error.message).not.toContain(`${words[i]} ${words[i + 1]}`)
    })

    it('not a string at all: ClientInputError', async () => {
      await expect(importRecoveryPhrase(undefined as unknown as string)).rejects.toThrow(ClientInputError)
    })
  })
})

describe('fingerprint', () => {
  it('is 6 groups of 5 digits, the same for the same key and different for different keys', async () => {
    const [a, b] = await Promise.all([createAccountKeys(), createAccountKeys()])
    const fa = await fingerprint(a.publicKey)
    expect(fa).toMatch(/^\d{5}( \d{5}){5}$/)
    expect(await fingerprint(new Uint8Array(a.publicKey))).toBe(fa)
    expect(await fingerprint((await importRecoveryPhrase(recoveryPhrase(a.secret))).publicKey)).toBe(fa)
    expect(await fingerprint(b.publicKey)).not.toBe(fa)
  })

  it('changes when one bit of the key changes', async () => {
    const key = (await createAccountKeys()).publicKey
    const flipped = new Uint8Array(key)
    flipped[31] ^= 1
    expect(await fingerprint(flipped)).not.toBe(await fingerprint(key))
  })

  it('refuses anything but 32 bytes', async () => {
    await expect(fingerprint(new Uint8Array(33))).rejects.toThrow(ClientInputError)
  })
})

describe('X25519 key pair', () => {
  it('agrees: each user computes the same shared secret from their private key and the other’s public key', async () => {
    const [alice, bob, eve] = await Promise.all([createAccountKeys(), createAccountKeys(), createAccountKeys()])
    const ab = x25519.getSharedSecret(alice.privateKey, bob.publicKey)
    expect(hex(ab)).toBe(hex(x25519.getSharedSecret(bob.privateKey, alice.publicKey)))
    expect(hex(ab)).not.toBe(hex(x25519.getSharedSecret(eve.privateKey, alice.publicKey)))
  })

  it('agrees after the phrase is imported on another device', async () => {
    const [alice, bob] = await Promise.all([createAccountKeys(), createAccountKeys()])
    const aliceAgain = await importRecoveryPhrase(recoveryPhrase(alice.secret))
    expect(hex(x25519.getSharedSecret(aliceAgain.privateKey, bob.publicKey))).toBe(hex(x25519.getSharedSecret(bob.privateKey, alice.publicKey)))
  })
})

describe('checkKnownKey', () => {
  const key = (byte: number) => new Uint8Array(32).fill(byte)

  it('new when no key is known for the user', () => {
    expect(checkKnownKey(undefined, { userId: 'u1', publicKey: key(1) })).toBe('new')
  })

  it('same for an equal key (another array with the same bytes)', () => {
    expect(checkKnownKey({ userId: 'u1', publicKey: key(1) }, { userId: 'u1', publicKey: key(1) })).toBe('same')
  })

  it('changed when any byte differs', () => {
    const changed = key(1)
    changed[31] = 2
    expect(checkKnownKey({ userId: 'u1', publicKey: key(1) }, { userId: 'u1', publicKey: changed })).toBe('changed')
    expect(checkKnownKey({ userId: 'u1', publicKey: key(1) }, { userId: 'u1', publicKey: key(0) })).toBe('changed')
  })

  it('refuses to compare keys of two different users, or keys that are not 32 bytes', () => {
    expect(() => checkKnownKey({ userId: 'u1', publicKey: key(1) }, { userId: 'u2', publicKey: key(1) })).toThrow(ClientInputError)
    expect(() => checkKnownKey(undefined, { userId: 'u1', publicKey: new Uint8Array(31) })).toThrow(ClientInputError)
    expect(() => checkKnownKey({ userId: 'u1', publicKey: new Uint8Array(33) }, { userId: 'u1', publicKey: key(1) })).toThrow(ClientInputError)
    expect(() => checkKnownKey(undefined, { userId: '', publicKey: key(1) })).toThrow(ClientInputError)
  })
})

describe('the worked example in docs/ENCRYPTION.md', () => {
  interface Example {
    secretHex: string
    phrase: string
    privateKeyHex: string
    publicKeyHex: string
    wrappingKeyHex: string
    fingerprint: string
  }

  async function example(): Promise<Example> {
    const file = new URL('../../../docs/ENCRYPTION.md', import.meta.url)
    const blocks = fencedBlocks(await readFile(file, 'utf8'), 'docs/ENCRYPTION.md').filter((b) => b.marker === '<!-- worked-example: account-keys-v1 -->')
    expect(blocks).toHaveLength(1)
    expect(blocks[0].lang).toBe('json')
    return JSON.parse(blocks[0].code) as Example
  }

  it('documents the HKDF parameters the code uses', async () => {
    const doc = await readFile(new URL('../../../docs/ENCRYPTION.md', import.meta.url), 'utf8')
    for (const label of [HKDF_SALT, HKDF_INFO.x25519, HKDF_INFO.wrappingKey]) expect(doc).toContain(`\`${label}\``)
  })

  it('gives the documented phrase, keys and fingerprint, both from the secret and from the phrase', async () => {
    const ex = await example()
    expect(recoveryPhrase(unhex(ex.secretHex))).toBe(ex.phrase)
    for (const keys of [await deriveAccountKeys(unhex(ex.secretHex)), await importRecoveryPhrase(ex.phrase)]) {
      expect(hex(keys.secret)).toBe(ex.secretHex)
      expect(hex(keys.privateKey)).toBe(ex.privateKeyHex)
      expect(hex(keys.publicKey)).toBe(ex.publicKeyHex)
      expect(await fingerprint(keys.publicKey)).toBe(ex.fingerprint)
      // The wrapping key is non-extractable: it is the documented one if it decrypts what the documented bytes encrypted.
      expect(await sameAesKey(await importKeyRaw(unhex(ex.wrappingKeyHex)), keys.wrappingKey)).toBe(true)
    }
    expect(hex(await hkdf(unhex(ex.secretHex), HKDF_INFO.wrappingKey))).toBe(ex.wrappingKeyHex)
  })
})

/** HKDF-SHA-256 of the secret with the documented salt: the raw bytes the client derives into a key. */
async function hkdf(secret: Uint8Array, info: string): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', new Uint8Array(secret), 'HKDF', false, ['deriveBits'])
  const encoder = new TextEncoder()
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(HKDF_SALT), info: encoder.encode(info) }, base, 256))
}
