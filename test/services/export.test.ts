import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyEpochsClient, membersClient, nestedService, recordsClient, type RecordItem } from '../../src/client.js'
import type { ExportHeader, ExportLine } from '../../src/services/export/export.shared.js'
import { describeBackends } from '../helpers/backends.js'
import { allChanges, connect, failure, jsonHeaders, signedIn, type TestClient } from '../helpers/clients.js'
import { keysFor, putKey } from '../helpers/keys.js'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * Export (GET /collections/:collectionId/export, GET /export): NDJSON, a
 * header line then every record and tombstone, streamed page by page from
 * the change feed. The server here pulls 3 changes a page, so every export
 * below spans several pages.
 */

const PAGE = 3

/** The lines of an NDJSON body as they arrive, without holding the body. */
async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  const reader = body.getReader()
  let buffered = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffered += decoder.decode(value, { stream: true })
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      yield buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
    }
  }
  // Every line ends with "\n": anything left is a cut line.
  if (buffered !== '') throw new Error(`the body ended inside a line: ${buffered.slice(0, 80)}`)
}

/** A whole export: its header and record lines. */
async function readExport(response: Response): Promise<{ header: ExportHeader; lines: ExportLine[] }> {
  expect(response.status).toBe(200)
  const all: string[] = []
  for await (const line of ndjson(response.body!)) all.push(line)
  const [first, ...rest] = all
  return { header: JSON.parse(first) as ExportHeader, lines: rest.map((line) => JSON.parse(line) as ExportLine) }
}

/** A feed entry as an export line: the same fields, in the export's order. */
const asLine = ({ collectionId, id, version, deleted, data, updatedAt, updatedBy, seq }: RecordItem): ExportLine => ({
  collectionId,
  id,
  version,
  deleted,
  data,
  updatedAt,
  updatedBy,
  seq
})

const today = () => new Date().toISOString().slice(0, 10).replaceAll('-', '')

describeBackends('export', (backend) => {
  let server: TestServer
  let owner: TestClient
  let reader: TestClient
  let stranger: TestClient
  let notes: string
  let secrets: string
  let theirs: string

  const get = async (client: TestClient | undefined, path: string) => fetch(`${server.url}${path}`, { headers: client === undefined ? {} : await jsonHeaders(client) })

  beforeAll(async () => {
    server = await startServer(backend, { limits: { changesPerPage: PAGE } })
    ;[owner, reader, stranger] = [await signedIn(server.url, 'rest'), await signedIn(server.url, 'rest'), await signedIn(server.url, 'rest')]

    // "notes": 8 records, one updated, one deleted: 3 pages and a tombstone.
    notes = (await owner.client.service('collections').create({ name: 'Notes' })).id
    const records = recordsClient(owner.client, notes)
    const made = []
    for (let n = 0; n < 8; n++) made.push(await records.create({ id: `n${n}`, data: { n, text: `note ${n} — é` } }))
    await records.update('n1', { data: { n: 1, text: 'edited' }, version: made[1].version })
    await records.remove('n2', { query: { version: made[2].version } })
    await membersClient(owner.client, notes).create({ userId: reader.user.id, role: 'reader' })

    // "secrets": encrypted (a key epoch), its data an envelope as the client would store it.
    secrets = (await owner.client.service('collections').create({ name: null })).id
    await putKey(owner.client, owner.user.id)
    await keyEpochsClient(owner.client, secrets).create({ epoch: 1, keys: keysFor([{ userId: owner.user.id, keyVersion: 1 }]) })
    await recordsClient(owner.client, secrets).create({ id: 's1', data: { v: 1, e: 1, n: 'bm9uY2U', c: 'Y2lwaGVydGV4dA' } })

    // The stranger's own collection: never in the owner's export.
    theirs = (await stranger.client.service('collections').create({})).id
    await recordsClient(stranger.client, theirs).create({ id: 'private', data: 'not yours' })
  })

  afterAll(async () => {
    for (const client of [owner, reader, stranger]) client?.close()
    await server?.close()
  })

  it('one collection, for any member: download headers, the header line, every record and tombstone as the feed has them', async () => {
    const response = await get(reader, `/collections/${notes}/export`)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="roost-${notes}-${today()}.ndjson"`)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const { header, lines } = await readExport(response)
    expect(header).toEqual({
      format: 'roost-export',
      version: 1,
      exportedAt: expect.any(String),
      collections: [{ id: notes, name: 'Notes', role: 'reader', encrypted: false, ownerId: owner.user.id }]
    })
    expect(Math.abs(Date.parse(header.exportedAt) - Date.now())).toBeLessThan(60_000)

    const feed = await allChanges(owner.client, notes)
    expect(lines).toEqual(feed.map(asLine))
    expect(lines).toHaveLength(8)
    expect(lines.find((line) => line.id === 'n2')).toMatchObject({ deleted: true, data: null })
    expect(lines.find((line) => line.id === 'n1')).toMatchObject({ version: 2, data: { n: 1, text: 'edited' } })
    // Field order as documented.
    const raw = await (await get(reader, `/collections/${notes}/export`)).text()
    expect(Object.keys(JSON.parse(raw.split('\n')[1]) as object)).toEqual(['collectionId', 'id', 'version', 'deleted', 'data', 'updatedAt', 'updatedBy', 'seq'])
    expect(raw.endsWith('\n')).toBe(true)
  })

  it('GET /export: every collection the caller is a member of, encrypted ones as stored, and nobody else’s', async () => {
    const response = await get(owner, '/export')
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="roost-all-${today()}.ndjson"`)
    const { header, lines } = await readExport(response)
    expect(header.collections).toEqual(
      [
        { id: notes, name: 'Notes', role: 'owner', encrypted: false, ownerId: owner.user.id },
        { id: secrets, name: null, role: 'owner', encrypted: true, ownerId: owner.user.id }
      ].sort((a, b) => (a.id < b.id ? -1 : 1))
    )
    const expected = [...(await allChanges(owner.client, header.collections[0].id)), ...(await allChanges(owner.client, header.collections[1].id))]
    expect(lines).toEqual(expected.map(asLine))
    expect(lines.find((line) => line.id === 's1')?.data).toEqual({ v: 1, e: 1, n: 'bm9uY2U', c: 'Y2lwaGVydGV4dA' })
    expect(lines.some((line) => line.collectionId === theirs)).toBe(false)

    // A user with no collections gets the header alone.
    const loner = await signedIn(server.url, 'rest')
    expect(await readExport(await get(loner, '/export'))).toEqual({ header: expect.objectContaining({ collections: [] }), lines: [] })
  })

  describe('errors before the first byte are the usual JSON errors', () => {
    it('no token: 401; a stranger: the same 404 for an existing collection as for a missing one', async () => {
      for (const path of [`/collections/${notes}/export`, '/export']) {
        const anonymous = await get(undefined, path)
        expect(anonymous.status).toBe(401)
        expect(await anonymous.json()).toMatchObject({ name: 'NotAuthenticated', code: 401 })
      }
      const existing = await get(stranger, `/collections/${notes}/export`)
      const missing = await get(stranger, '/collections/no-such-collection/export')
      expect(existing.status).toBe(404)
      expect(existing.headers.get('content-type')).toMatch(/^application\/json/)
      const shape = (body: { message: string }, id: string) => ({ ...body, message: body.message.replace(id, '<id>') })
      expect(shape(await existing.json(), notes)).toEqual(shape(await missing.json(), 'no-such-collection'))
    })

    it('bad input: a query field, an invalid collection id → 400 naming it; over socket.io → 400 (a download is REST only)', async () => {
      const withQuery = await get(owner, `/collections/${notes}/export?since=1`)
      expect(withQuery.status).toBe(400)
      expect(await withQuery.json()).toMatchObject({ message: '"query" has an unknown field "since"' })
      const badId = await get(owner, '/collections/%20bad%20id/export')
      expect(badId.status).toBe(400)
      expect(await badId.json()).toMatchObject({ message: '"collectionId" in the path is not a valid id' })

      const socket = connect(server.url, 'socketio')
      try {
        await socket.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })
        const service = nestedService<{ find(): Promise<unknown> }>(socket.client, 'export', ['find'])
        expect(await failure(service.find())).toMatchObject({ code: 400, message: 'Export is a download over REST only: GET /export or GET /collections/:collectionId/export' })
      } finally {
        socket.close()
      }
    })
  })

  describe('a collection of many pages, read slowly', () => {
    // 40 MB: far more than loopback socket buffers and the client's own hold, so the server
    // cannot have read every page ahead of the reader: it must wait, reading page by page.
    const RECORDS = 200
    const BLOB = 'x'.repeat(200_000)
    let big: string

    beforeAll(async () => {
      big = (await owner.client.service('collections').create({ name: 'Big' })).id
      await membersClient(owner.client, big).create({ userId: reader.user.id, role: 'reader' })
      for (let start = 0; start < RECORDS; start += 20) {
        const writes = Array.from({ length: 20 }, (_, i) => ({ op: 'create' as const, collectionId: big, id: `b${String(start + i).padStart(3, '0')}`, data: { blob: BLOB } }))
        await server.storage.commitWrites(writes, { actor: owner.user.id, at: new Date().toISOString() })
      }
    }, 60_000)

    it('is read lazily, page after page: a record changed mid-export comes again at the end, and its last line wins', async () => {
      const response = await get(reader, `/collections/${big}/export`)
      expect(response.status).toBe(200)
      const lines = ndjson(response.body!)
      expect(JSON.parse((await lines.next()).value as string)).toMatchObject({ format: 'roost-export' })
      const first = JSON.parse((await lines.next()).value as string) as ExportLine
      expect(first).toMatchObject({ id: 'b000', version: 1, seq: 1 })

      // While the download waits for its reader, b000 changes: it gets the next change position, after every page.
      const records = recordsClient(owner.client, big)
      await records.update('b000', { data: { blob: 'changed' }, version: 1 })

      const seen: Array<{ id: string; version: number; seq: number }> = [first]
      for await (const line of lines) {
        const { id, version, seq } = JSON.parse(line) as ExportLine
        seen.push({ id, version, seq })
      }
      expect(seen).toHaveLength(RECORDS + 1)
      expect(seen.slice(0, RECORDS).map((line) => line.id)).toEqual(Array.from({ length: RECORDS }, (_, i) => `b${String(i).padStart(3, '0')}`))
      expect(seen.at(-1)).toEqual({ id: 'b000', version: 2, seq: RECORDS + 1 })
      // Seqs only grow: the feed's order.
      expect(seen.every((line, i) => i === 0 || line.seq > seen[i - 1].seq)).toBe(true)
      // Restore for the next test.
      await records.update('b000', { data: { blob: BLOB }, version: 2 })
    }, 60_000)

    it('a failure after the first byte (the reader removed mid-export) destroys the connection: the download fails, it does not end short', async () => {
      const response = await get(reader, `/collections/${big}/export`)
      expect(response.status).toBe(200)
      const lines = ndjson(response.body!)
      await lines.next()
      await lines.next()
      await membersClient(owner.client, big).remove(reader.user.id)

      let count = 2
      const outcome = await (async () => {
        for await (const line of lines) if (line !== '') count++
        return 'ended cleanly'
      })().catch((error: Error) => error)
      expect(outcome).toBeInstanceOf(Error)
      expect(count).toBeLessThan(RECORDS + 1)
      // The reader is out: a new export is the collection's 404.
      expect((await get(reader, `/collections/${big}/export`)).status).toBe(404)
    }, 60_000)
  })
})
