import { createRoost, memoryStore, type Json } from 'roost/client'
import { importRecoveryPhrase, type AccountKeys } from '../../src/client/crypto/account-keys.js'
import { toBase64url } from '../../src/client/crypto/base64url.js'
import { encryptRecord, importKeyRaw, type Envelope } from '../../src/client/crypto/record-envelope.js'
import { wrapCollectionKey } from '../../src/client/crypto/key-wrap.js'
import type { UserKey } from '../../src/services/user-keys/user-keys.shared.js'
import type { RoostTarget } from '../targets/types.js'
import type { Payload } from './payload.js'

/**
 * End-to-end encryption for the encrypted workloads (W1e, W6e): the bench
 * user's account keys, made once per target through the client library's
 * public API as an app's first device would (`roost.account.create()`), and
 * collections made encrypted the way a manager's device does it (a random
 * collection key, wrapped for the user with HPKE, as key epoch 1), keeping
 * the key so that the load generator can seal records itself.
 */
export interface BenchAccount {
  userId: string
  /** The 24-word recovery phrase: how each syncing client gets the account's keys. */
  recoveryPhrase: string
  keyVersion: number
  /** The account's X25519 pair, as each of its devices derives it from the phrase (a wrap is made to the public key and, with HPKE Auth mode, by the private one). */
  keys: AccountKeys
}

/** The collection's epoch-1 key: what an app's device holds to write records. */
export interface SealingKey {
  collectionId: string
  epoch: number
  key: CryptoKey
}

const accounts = new WeakMap<RoostTarget, Promise<BenchAccount>>()

/** The target user's account keys, created on the first call (a user has one account key; later workloads reuse it). */
export function benchAccount(target: RoostTarget): Promise<BenchAccount> {
  let account = accounts.get(target)
  if (!account) {
    account = createAccount(target)
    // A failed attempt is not kept: the next workload tries again (and says why).
    account.catch(() => accounts.delete(target))
    accounts.set(target, account)
  }
  return account
}

async function createAccount(target: RoostTarget): Promise<BenchAccount> {
  const roost = createRoost({ url: target.url, auth: { accessToken: target.accessToken }, store: memoryStore(), realtime: false })
  try {
    const { recoveryPhrase } = await roost.account.create()
    const userId = roost.userId
    if (!userId) throw new Error('the client library did not sign in while creating the account keys')
    const keys = await importRecoveryPhrase(recoveryPhrase)
    const published = await target.http.json<UserKey>('GET', `/user-keys/${userId}`)
    if (published.publicKey !== toBase64url(keys.publicKey)) throw new Error(`user-keys/${userId} holds another public key than the one just created`)
    return { userId, recoveryPhrase, keyVersion: published.keyVersion, keys }
  } finally {
    await roost.close()
  }
}

/** Makes `collectionId` end-to-end encrypted: key epoch 1, its key wrapped for the bench user (the only member). */
export async function encryptCollection(target: RoostTarget, collectionId: string): Promise<SealingKey> {
  const account = await benchAccount(target)
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(32))
  const wrapper = { userId: account.userId, privateKey: account.keys.privateKey, publicKey: account.keys.publicKey }
  const wrappedKey = await wrapCollectionKey(raw, { userId: account.userId, keyVersion: account.keyVersion, publicKey: account.keys.publicKey }, { collectionId, epoch: 1 }, wrapper)
  await target.http.json('POST', `/collections/${collectionId}/key-epochs`, {
    epoch: 1,
    keys: [{ userId: account.userId, keyVersion: account.keyVersion, wrappedKey }]
  })
  return { collectionId, epoch: 1, key: await importKeyRaw(raw) }
}

/** One record's data as an envelope (a fresh nonce each time), as the client library writes it. */
export function seal(key: SealingKey, recordId: string, data: Payload): Promise<Envelope> {
  return encryptRecord(key.key, { collectionId: key.collectionId, recordId, epoch: key.epoch, data: data as unknown as Json })
}
