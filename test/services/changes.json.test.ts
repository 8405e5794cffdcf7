import { afterAll, beforeAll, expect, it } from 'vitest'
import { changesClient, recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { setRecordDataTextBehindTheServer } from '../helpers/behind-the-server.js'
import { device, jsonHeaders, signedIn, type TestClient } from '../helpers/clients.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * REST sends a feed page written from the stored JSON text of each record's
 * data (services/changes/changes.rest.ts), where it used to serialise the
 * parsed page. The body must be the very text that serialising gave: the
 * same fields, in the same order, with the same values, for any data a
 * client can store. Socket.io still gets the parsed page from find, so it is
 * the reference: the REST body must equal JSON.stringify of socket.io's page.
 */

const MAX_BYTES = 64 * 1024

/** Data that JSON text can get wrong: escapes, unicode, numbers at their limits, empty and nested shapes. */
const TRICKY: Array<[string, unknown]> = [
  ['separators', { text: 'line\u2028para\u2029end', also: '\u2028' }],
  ['unicode', { emoji: '🦉 nid', accents: 'Zoë, Ångström, 東京', rtl: 'مرحبا', zeroWidth: 'a\u200bb', bom: '\ufeff' }],
  ['lone-surrogates', { high: 'x\ud800y', low: '\udc00' }],
  ['escapes', { quote: 'say "hi"', backslash: 'C:\\path\\', controls: '\u0000\u0001\b\f\n\r\t\u001f', slash: '</script>' }],
  ['nested', { a: [1, [2, [3, { b: [] }]], {}], c: { d: { e: { f: null } } } }],
  ['numbers', { big: 1.7976931348623157e308, tiny: 5e-324, negative: -123.456e-7, unsafe: 2 ** 53 + 2, tenth: 0.1, exp: 1e21, negZero: -0 }],
  ['empty-object', {}],
  ['empty-array', []],
  ['key-order', { b: 1, a: 2, '10': 3, '2': 4, __proto__x: 5, '': 6 }],
  ['a-string', 'just text'],
  ['a-number', 42],
  ['false', false],
  ['null-data', null]
]

describeBackends('changes: REST pages are the stored JSON, as it was serialised', (backend) => {
  let server: TestServer
  let owner: TestClient
  let socket: { client: TestClient['client']; close(): void }

  beforeAll(async () => {
    server = await startServer(backend, { limits: { recordBytes: MAX_BYTES } })
    owner = await signedIn(server.url, 'rest')
    socket = await device(server.url, 'socketio', owner)
  })
  afterAll(async () => {
    socket?.close()
    owner?.close()
    await server.close()
  })

  /** The raw REST answer to a page request. */
  async function restPage(collectionId: string, query: string) {
    const response = await fetch(`${server.url}/collections/${collectionId}/changes?${query}`, { headers: await jsonHeaders(owner) })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await response.text()
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    return text
  }

  it('every page is byte for byte what serialising the parsed page gives, for tricky data, tombstones, keys and records of the maximum size', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const records = recordsClient(owner.client, collectionId)
    const written = new Map<string, unknown>()
    for (const [id, data] of TRICKY) {
      await records.create({ id, data })
      written.set(id, JSON.parse(JSON.stringify(data)))
    }
    // Records of exactly the maximum size, ASCII and multi-byte.
    const ascii = { s: 'x'.repeat(MAX_BYTES - '{"s":""}'.length) }
    const wide = { s: 'é'.repeat((MAX_BYTES - '{"s":""}'.length) / 2) }
    expect(Buffer.byteLength(JSON.stringify(ascii))).toBe(MAX_BYTES)
    expect(Buffer.byteLength(JSON.stringify(wide))).toBe(MAX_BYTES)
    await records.create({ id: 'max-ascii', data: ascii })
    await records.create({ id: 'max-wide', data: wide })
    written.set('max-ascii', ascii).set('max-wide', wide)
    // A version written with an idempotency key carries it; a tombstone has null data.
    const keyed = await fetch(`${server.url}/collections/${collectionId}/records`, {
      method: 'POST',
      headers: { ...(await jsonHeaders(owner)), 'idempotency-key': 'feed-json-1' },
      body: JSON.stringify({ id: 'keyed', data: { k: 'v' } })
    })
    expect(keyed.status).toBe(201)
    written.set('keyed', { k: 'v' })
    await records.remove('empty-array', { query: { version: 1 } })
    written.set('empty-array', null)

    // Small pages, so that page boundaries and `more` are covered too.
    const seen = new Map<string, unknown>()
    let cursor: string | undefined
    let pages = 0
    for (let more = true; more; pages++) {
      const query = { limit: 4, ...(cursor === undefined ? {} : { since: cursor }) }
      const text = await restPage(collectionId, new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString())
      const reference = await changesClient(socket.client, collectionId).find({ query })
      expect(text).toBe(JSON.stringify(reference))
      const page = JSON.parse(text) as typeof reference
      expect(page).toEqual(reference)
      expect(Object.keys(page)).toEqual(['changes', 'cursor', 'more'])
      for (const change of page.changes) seen.set(change.id, change.data)
      cursor = page.cursor
      more = page.more
    }
    expect(pages).toBe(Math.ceil(written.size / 4))
    expect(seen).toEqual(written)

    // The same pages through the REST client library: parsed as before.
    const viaClient = await changesClient(owner.client, collectionId).find({ query: { limit: 1000 } })
    expect(viaClient).toEqual(await changesClient(socket.client, collectionId).find({ query: { limit: 1000 } }))
    const tombstone = viaClient.changes.find((change) => change.id === 'empty-array')
    expect(tombstone).toMatchObject({ deleted: true, data: null, version: 2 })
    expect(viaClient.changes.find((change) => change.id === 'keyed')).toMatchObject({ idempotencyKey: 'feed-json-1', data: { k: 'v' } })
    expect(viaClient.changes.find((change) => change.id === 'null-data')).toMatchObject({ deleted: false, data: null })
  })

  it('sends the stored text itself: data stored in another spelling of the same JSON reaches REST as stored, socket.io parsed', async () => {
    // Not what Roost writes (it stores JSON.stringify's text), so it shows
    // which path answered: serialising the parsed page would respell it.
    const { id: collectionId } = await owner.client.service('collections').create({})
    await recordsClient(owner.client, collectionId).create({ id: 'spelled', data: { a: 1, b: [1, 2] } })
    const stored = '{ "a" : 1.0,\n  "b": [1, 2] }'
    await setRecordDataTextBehindTheServer(server, collectionId, 'spelled', stored)
    const text = await restPage(collectionId, 'limit=10')
    expect(text).toContain(`"data":${stored},"deleted":false`)
    const page = JSON.parse(text) as { changes: Array<{ data: unknown }> }
    expect(page.changes[0].data).toEqual({ a: 1, b: [1, 2] })
    expect((await changesClient(socket.client, collectionId).find({ query: { limit: 10 } })).changes[0].data).toEqual({ a: 1, b: [1, 2] })
  })

  it('an empty page and a refused page keep their form', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const empty = await restPage(collectionId, 'limit=10')
    expect(empty).toBe(JSON.stringify(await changesClient(socket.client, collectionId).find({ query: { limit: 10 } })))
    expect(JSON.parse(empty)).toEqual({ changes: [], cursor: expect.any(String), more: false })

    // Errors are Feathers errors as before, not a JSON page.
    const badCursor = await fetch(`${server.url}/collections/${collectionId}/changes?since=garbage`, { headers: await jsonHeaders(owner) })
    expect(badCursor.status).toBe(400)
    expect(await badCursor.json()).toMatchObject({ name: 'BadRequest', code: 400 })
    const stranger = await signedIn(server.url, 'rest')
    const refused = await fetch(`${server.url}/collections/${collectionId}/changes`, { headers: await jsonHeaders(stranger) })
    expect([403, 404]).toContain(refused.status)
    const anonymous = await fetch(`${server.url}/collections/${collectionId}/changes`)
    expect(anonymous.status).toBe(401)
    stranger.close()
  })
})
