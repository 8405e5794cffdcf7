import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UserKey, UserKeyPatch, UserKeyUpdate } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, jsonHeaders, newEmail, signedIn, TRANSPORTS, type TestClient, type Transport } from '../helpers/clients.js'
import { b64, passphraseWrap, publicKey } from '../helpers/keys.js'
import { startServer, type TestServer } from '../helpers/server.js'

/** The user-keys service with per-call params, for idempotency keys. */
interface KeyedUserKeys {
  update(id: string, data: UserKeyUpdate, params: object): Promise<UserKey>
  patch(id: string, data: UserKeyPatch, params: object): Promise<UserKey>
}

const keyed = (transport: Transport, key: string): object =>
  transport === 'rest' ? { headers: { 'Idempotency-Key': key } } : { query: { $idempotencyKey: key } }

describeBackends('user keys', (backend) => {
  let server: TestServer
  const opened: TestClient[] = []
  const user = async (transport: Transport) => {
    const client = await signedIn(server.url, transport, newEmail())
    opened.push(client)
    return client
  }

  beforeAll(async () => {
    server = await startServer(backend)
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('set, read, replace: version by version; others read the public key without the passphrase copy', async () => {
        const ada = await user(transport)
        const bob = await user(transport)
        const adaKeys = ada.client.service('user-keys')

        expect(await failure(adaKeys.get(ada.user.id))).toMatchObject({ code: 404 })

        const first = publicKey()
        const wrap = passphraseWrap()
        const set = await adaKeys.update(ada.user.id, { publicKey: first, baseKeyVersion: 0, passphraseWrap: wrap })
        expect(set).toEqual({ userId: ada.user.id, publicKey: first, keyVersion: 1, createdAt: expect.any(String), updatedAt: expect.any(String), passphraseWrap: wrap })
        expect(await adaKeys.get(ada.user.id)).toEqual(set)

        // Public to any signed-in user, without the passphrase copy (not even as null).
        const seenByBob = await bob.client.service('user-keys').get(ada.user.id)
        expect(seenByBob).toEqual({ userId: ada.user.id, publicKey: first, keyVersion: 1, createdAt: set.createdAt, updatedAt: set.updatedAt })
        expect(seenByBob).not.toHaveProperty('passphraseWrap')

        // Replacing the key: a new version; a passphrase copy of the old secret is not kept.
        const second = publicKey()
        const replaced = await adaKeys.update(ada.user.id, { publicKey: second, baseKeyVersion: 1 })
        expect(replaced).toMatchObject({ publicKey: second, keyVersion: 2, passphraseWrap: null })
        expect(await bob.client.service('user-keys').get(ada.user.id)).toMatchObject({ publicKey: second, keyVersion: 2 })
      })

      it('compare-and-set: a replace based on an older version (or 0 when there is a key) is a 409 with the key now, and changes nothing', async () => {
        const ada = await user(transport)
        const adaKeys = ada.client.service('user-keys')
        const current = await adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 0 })

        for (const baseKeyVersion of [0, 2, 7]) {
          const conflict = await failure(adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion }))
          expect(conflict).toMatchObject({ code: 409, name: 'Conflict', data: { current: { userId: ada.user.id, publicKey: current.publicKey, keyVersion: 1 } } })
          expect(conflict.message).not.toMatch(/SQL|sqlite|postgres|constraint/i)
        }
        expect(await adaKeys.get(ada.user.id)).toEqual(current)

        // Two devices replacing at once from the same version: one wins.
        const outcomes = await Promise.allSettled([
          adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 1 }),
          adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 1 })
        ])
        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected'])
        const rejected = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult
        expect(rejected.reason).toMatchObject({ code: 409, data: { current: { keyVersion: 2 } } })
        expect((await adaKeys.get(ada.user.id)).keyVersion).toBe(2)
      })

      it('patch sets and clears only the passphrase copy; without a key it is a 404', async () => {
        const ada = await user(transport)
        const adaKeys = ada.client.service('user-keys')
        expect(await failure(adaKeys.patch(ada.user.id, { passphraseWrap: passphraseWrap() }))).toMatchObject({ code: 404 })

        const key = await adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 0 })
        expect(key.passphraseWrap).toBeNull()
        const wrap = passphraseWrap()
        const patched = await adaKeys.patch(ada.user.id, { passphraseWrap: wrap })
        expect(patched).toMatchObject({ publicKey: key.publicKey, keyVersion: 1, passphraseWrap: wrap })
        expect((await adaKeys.get(ada.user.id)).passphraseWrap).toEqual(wrap)
        expect((await adaKeys.patch(ada.user.id, { passphraseWrap: null })).passphraseWrap).toBeNull()
        expect(await adaKeys.get(ada.user.id)).toMatchObject({ keyVersion: 1, passphraseWrap: null })
      })

      it("another user's key: readable, never writable (403), and unchanged", async () => {
        const ada = await user(transport)
        const mallory = await user(transport)
        const key = await ada.client.service('user-keys').update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 0, passphraseWrap: passphraseWrap() })
        const asMallory = mallory.client.service('user-keys')

        expect(await failure(asMallory.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 1 }))).toMatchObject({ code: 403, name: 'Forbidden' })
        expect(await failure(asMallory.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 0 }))).toMatchObject({ code: 403 })
        expect(await failure(asMallory.patch(ada.user.id, { passphraseWrap: null }))).toMatchObject({ code: 403 })
        expect(await ada.client.service('user-keys').get(ada.user.id)).toEqual(key)
      })

      it('no key and no such user answer alike (404): a key lookup does not tell who exists', async () => {
        const ada = await user(transport)
        const keyless = await user(transport)
        const nobody = randomUUID()
        const withoutKey = await failure(ada.client.service('user-keys').get(keyless.user.id))
        const missing = await failure(ada.client.service('user-keys').get(nobody))
        expect(withoutKey).toMatchObject({ code: 404, name: 'NotFound' })
        // Not even a user id: the same 404, not a 400 or a database error.
        expect(await failure(ada.client.service('user-keys').get('not-a-user'))).toMatchObject({ code: 404, name: 'NotFound' })
        expect(await failure(ada.client.service('user-keys').get('a'.repeat(128)))).toMatchObject({ code: 404, name: 'NotFound' })
        expect({ ...missing, message: missing.message.replace(nobody, '<id>') }).toMatchObject({
          code: 404,
          name: withoutKey.name,
          message: withoutKey.message.replace(keyless.user.id, '<id>')
        })
      })

      it('malformed bodies are 400s naming the field, and change nothing', async () => {
        const ada = await user(transport)
        const adaKeys = ada.client.service('user-keys')
        const key = await adaKeys.update(ada.user.id, { publicKey: publicKey(), baseKeyVersion: 0, passphraseWrap: passphraseWrap() })
        const bad = (data: unknown) => failure(adaKeys.update(ada.user.id, data as UserKeyUpdate))
        const badPatch = (data: unknown) => failure(adaKeys.patch(ada.user.id, data as UserKeyPatch))

        const cases: Array<[Promise<{ code: number; message: string }>, RegExp]> = [
          [bad({ publicKey: `${b64(31)}+/`.slice(0, 43), baseKeyVersion: 1 }), /"data\.publicKey" must be 43 base64url characters/],
          [bad({ publicKey: b64(31), baseKeyVersion: 1 }), /"data\.publicKey" must be 43 base64url characters/],
          [bad({ publicKey: `${publicKey()}=`, baseKeyVersion: 1 }), /"data\.publicKey" must be 43 base64url/],
          [bad({ publicKey: publicKey(), baseKeyVersion: -1 }), /"data\.baseKeyVersion" must be >= 0/],
          [bad({ publicKey: publicKey(), baseKeyVersion: '1' }), /"data\.baseKeyVersion" must be integer/],
          [bad({ publicKey: publicKey() }), /is missing "baseKeyVersion"/],
          [bad({ publicKey: publicKey(), baseKeyVersion: 1, keyVersion: 2 }), /unknown field "keyVersion"/],
          [bad({ publicKey: publicKey(), baseKeyVersion: 1, passphraseWrap: { ...passphraseWrap(), salt: b64(15) } }), /"data\.passphraseWrap\.salt" must be 22 base64url/],
          [bad({ publicKey: publicKey(), baseKeyVersion: 1, passphraseWrap: { ...passphraseWrap(), m: 1024 } }), /"data\.passphraseWrap\.m" must be >= 19456/],
          [bad({ publicKey: publicKey(), baseKeyVersion: 1, passphraseWrap: { ...passphraseWrap(), kdf: 'scrypt' } }), /"data\.passphraseWrap\.kdf"/],
          [badPatch({ passphraseWrap: { ...passphraseWrap(), extra: 1 } }), /unknown field "extra"/],
          [badPatch({ passphraseWrap: { ...passphraseWrap(), c: b64(32) } }), /"data\.passphraseWrap\.c" must be 64 base64url/],
          [badPatch({ passphraseWrap: { ...passphraseWrap(), n: b64(12).replace(/^./, '.') } }), /"data\.passphraseWrap\.n" must be 16 base64url/],
          [badPatch({}), /is missing "passphraseWrap"/],
          [badPatch({ passphraseWrap: null, publicKey: publicKey() }), /unknown field "publicKey"/]
        ]
        for (const [call, message] of cases) {
          const error = await call
          expect(error.code, error.message).toBe(400)
          expect(error.message).toMatch(message)
        }
        expect(await failure(adaKeys.update(ada.user.id, [{ publicKey: publicKey(), baseKeyVersion: 1 }] as never))).toMatchObject({ code: 400 })
        const loose = adaKeys as unknown as { get(id: string, params: object): Promise<unknown> }
        expect(await failure(loose.get(ada.user.id, { query: { extra: 1 } }))).toMatchObject({ code: 400 })
        expect(await adaKeys.get(ada.user.id)).toEqual(key)
      })

      it('an Idempotency-Key replays the first answer of a set or a re-wrap instead of a 409', async () => {
        const ada = await user(transport)
        const adaKeys = ada.client.service('user-keys') as unknown as KeyedUserKeys
        const body = { publicKey: publicKey(), baseKeyVersion: 0 }
        const key = `key-${randomUUID()}`
        const first = await adaKeys.update(ada.user.id, body, keyed(transport, key))
        const replay = await adaKeys.update(ada.user.id, body, keyed(transport, key))
        expect(replay).toEqual(first)
        expect((await ada.client.service('user-keys').get(ada.user.id)).keyVersion).toBe(1)
        // The same key for another request: 422.
        expect(await failure(adaKeys.update(ada.user.id, { ...body, publicKey: publicKey() }, keyed(transport, key)))).toMatchObject({ code: 422 })

        const wrapKey = `key-${randomUUID()}`
        const wrapped = await adaKeys.patch(ada.user.id, { passphraseWrap: passphraseWrap() }, keyed(transport, wrapKey))
        expect(await adaKeys.patch(ada.user.id, { passphraseWrap: wrapped.passphraseWrap ?? null }, keyed(transport, wrapKey))).toEqual(wrapped)
      })
    })
  }

  it('over REST: PUT and PATCH /user-keys/:id, a replay says Idempotent-Replayed; 401 without a token', async () => {
    const ada = await user('rest')
    const headers = await jsonHeaders(ada)
    const url = `${server.url}/user-keys/${ada.user.id}`
    const body = JSON.stringify({ publicKey: publicKey(), baseKeyVersion: 0 })
    const idempotencyKey = `key-${randomUUID()}`
    const first = await fetch(url, { method: 'PUT', headers: { ...headers, 'idempotency-key': idempotencyKey }, body })
    expect(first.status).toBe(200)
    const again = await fetch(url, { method: 'PUT', headers: { ...headers, 'idempotency-key': idempotencyKey }, body })
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.json()).toEqual(await first.json())

    expect((await fetch(url)).status).toBe(401)
    // No list and no removal of keys.
    expect((await fetch(`${server.url}/user-keys`, { headers })).status).toBe(405)
    expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(405)
  })
})
