/**
 * The page side of record-envelope.browser.test.ts: runs the record envelope
 * with Chromium's WebCrypto, and keeps a non-extractable key in IndexedDB
 * across a reload (as an app would keep a collection key).
 */
import { openDB } from 'idb'
import { TamperedRecordError, decryptRecord, encryptRecord, generateCollectionKey, importKeyRaw, type Envelope } from '../../../src/client/crypto/record-envelope.js'
import type { Json } from '../../../src/client/types.js'

const unhex = (text: string) => new Uint8Array(text.match(/../g)!.map((byte) => parseInt(byte, 16)))
const keys = () => openDB('envelope-keys', 1, { upgrade: (db) => db.createObjectStore('keys') })
type Ref = { collectionId: string; recordId: string; epoch: number }

Object.assign(window, {
  /** Decrypts an envelope made elsewhere (Node), with the key as hex. */
  async decryptWithHexKey(keyHex: string, ref: Ref, envelope: Envelope): Promise<Json> {
    return decryptRecord(await importKeyRaw(unhex(keyHex)), ref, envelope)
  },
  /** Encrypts with the key as hex: for Node to decrypt. */
  async encryptWithHexKey(keyHex: string, ref: Ref, data: Json): Promise<Envelope> {
    return encryptRecord(await importKeyRaw(unhex(keyHex)), { ...ref, data })
  },
  /** The error name and reason of decrypting `envelope` for `ref`. */
  async decryptFailure(keyHex: string, ref: Ref, envelope: unknown): Promise<{ name: string; reason?: string; isTampered: boolean }> {
    try {
      await decryptRecord(await importKeyRaw(unhex(keyHex)), ref, envelope)
      return { name: 'none', isTampered: false }
    } catch (error) {
      return { name: (error as Error).name, reason: (error as TamperedRecordError).reason, isTampered: error instanceof TamperedRecordError }
    }
  },
  /** A fresh non-extractable key, kept in IndexedDB, and an envelope made with it. */
  async encryptAndKeepKey(ref: Ref, data: Json): Promise<Envelope> {
    const key = await importKeyRaw(crypto.getRandomValues(new Uint8Array(32)))
    await (await keys()).put('keys', key, 'k')
    return encryptRecord(key, { ...ref, data })
  },
  /** After a reload: the key from IndexedDB decrypts; its bytes cannot be read. */
  async decryptWithKeptKey(ref: Ref, envelope: Envelope): Promise<{ data: Json; extractable: boolean }> {
    const key = (await (await keys()).get('keys', 'k')) as CryptoKey
    return { data: await decryptRecord(key, ref, envelope), extractable: key.extractable }
  },
  async freshKeyIsExtractable(): Promise<boolean> {
    return (await generateCollectionKey()).extractable
  }
})
