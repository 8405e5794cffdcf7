import type { ClientStore, StoreChange } from '../../../src/client/stores/types.js'
import type { Json, LocalRecord, OutboxEntry, ServerRecord } from '../../../src/client/types.js'

/**
 * The ClientStore conformance suite, as plain data: every store (memory,
 * SQLite, IndexedDB) must pass every check. It imports nothing from vitest or
 * Node so that the same file runs under vitest (test/client/stores/stores.test.ts)
 * and bundled into a real browser page against the IndexedDB store.
 *
 * How a harness runs a check: give it a fresh, EMPTY underlying storage (a new
 * file, a new database name, a new MemoryStore), and an `open` that returns a
 * NEW store object on THAT storage at each call (so a check can write, close,
 * open again and read: what an app kill and restart does). A check closes
 * every store it opened; it throws an Error with a clear message on failure.
 */
export interface StoreCheck {
  name: string
  run(open: () => Promise<ClientStore>): Promise<void>
}

// ---------------------------------------------------------------------------
// Tiny assertion helpers (no test framework here).

/** JSON with sorted keys, also showing what JSON would hide (undefined, functions, class instances). */
export function stableJson(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : String(value)
    case 'bigint':
      return `${value}n`
    case 'function':
      return '<function>'
    case 'symbol':
      return `<${String(value)}>`
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
  }
  if (value === null) return 'null'
  if (Array.isArray(value)) return `[${Array.from(value, (item: unknown) => stableJson(item)).join(',')}]`
  const prototype: unknown = Object.getPrototypeOf(value)
  const kind = prototype === Object.prototype || prototype === null ? '' : `<${Object.prototype.toString.call(value).slice(8, -1)}>`
  const object = value as Record<string, unknown>
  const members = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort(compare)
    .map((key) => `${JSON.stringify(key)}:${stableJson(object[key])}`)
  return `${kind}{${members.join(',')}}`
}

export function assertEqual(actual: unknown, expected: unknown, message: string): void {
  const a = stableJson(actual)
  const e = stableJson(expected)
  if (a === e) return
  let at = 0
  while (at < a.length && a[at] === e[at]) at++
  const around = (text: string) => `${at > 60 ? '…' : ''}${text.slice(Math.max(0, at - 60), at + 120)}${text.length > at + 120 ? '…' : ''}`
  throw new Error(`${message}\n  expected: ${around(e)}\n  actual:   ${around(a)}\n  (first difference at character ${at})`)
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

/** Awaits a promise that must reject; returns what it rejected with. */
async function rejection(promise: Promise<unknown>, message: string): Promise<unknown> {
  try {
    const value = await promise
    throw new Failure(`${message}: it resolved (to ${stableJson(value).slice(0, 200)}) instead of rejecting`)
  } catch (error) {
    if (error instanceof Failure) throw new Error(error.message)
    return error
  }
}
class Failure extends Error {}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Opens stores through the harness's `open` and closes every one still open at the end. */
async function withStores(open: () => Promise<ClientStore>, body: (stores: Stores) => Promise<void>): Promise<void> {
  const opened = new Set<ClientStore>()
  const stores: Stores = {
    async open() {
      const store = await open()
      opened.add(store)
      return store
    },
    async close(store) {
      opened.delete(store)
      await store.close()
    }
  }
  try {
    await body(stores)
  } finally {
    for (const store of opened) await store.close()
  }
}
interface Stores {
  open(): Promise<ClientStore>
  close(store: ClientStore): Promise<void>
}

// ---------------------------------------------------------------------------
// Fixtures.

function record(collectionId: string, id: string, fields: Partial<LocalRecord> = {}): LocalRecord {
  return { collectionId, id, data: { title: `${collectionId}/${id}` }, deleted: false, version: 1, syncedVersion: 1, base: null, ...fields }
}

function entry(id: string, order: number, fields: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id,
    order,
    collectionId: 'notes',
    recordId: `r-${id}`,
    op: 'put',
    data: { n: order },
    localVersion: 1,
    createdAt: '2026-01-02T03:04:05.678Z',
    state: 'pending',
    ...fields
  }
}

const putRecord = (value: LocalRecord): StoreChange => ({ type: 'putRecord', record: value })
const putOutbox = (value: OutboxEntry): StoreChange => ({ type: 'putOutbox', entry: value })
const putMeta = (key: string, value: unknown): StoreChange => ({ type: 'putMeta', key, value })

const byRecordKey = (a: LocalRecord, b: LocalRecord) => compare(a.collectionId, b.collectionId) || compare(a.id, b.id)

/** A server record as the sync loop keeps it in `base` / `conflict`. */
const serverRecord = (id: string, version: number, data: Json): ServerRecord => ({
  collectionId: 'notes',
  id,
  data,
  version,
  seq: version * 10,
  deleted: false,
  updatedAt: '2026-01-01T00:00:01.000Z',
  updatedBy: null,
  idempotencyKey: '6b2b2d0c-8f7a-4d7e-9a55-0d1c4e9b7a10'
})

/** Strings a store must keep exactly: NUL, non-ASCII, astral characters, lone and reversed surrogates. */
const STRINGS = ['', 'plain', 'a\u0000b', '\u0000', 'héllo wörld ✓ 日本語 Ünïcödé', '🦜 parrot 👩‍👩‍👧', '\ud800', 'x\udc00y', '\udfff\ud800', 'end\ud83e', '\ufffd', '\uffff', '\u2028\u2029', '"quotes" \\ back\\slash \n\t\r']

/** Numbers JSON carries exactly. */
const NUMBERS = [0, 1, -1, 1.5, -2.25e-10, 0.1 + 0.2, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60, 123456789.123456789]

/** Data with every kind of JSON value, including awkward keys ("__proto__" as an own key, as JSON.parse makes it). */
function richData(): Json {
  const awkwardKeys = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c", "": "empty key", "0": 0, "10": 10, "9": 9, "a.b": 1, "key with space": 2, "ключ": 3, "\\u0000": "nul key", "🦜": "astral key"}') as Json
  return {
    strings: STRINGS,
    numbers: NUMBERS,
    literals: [null, true, false],
    empty: { object: {}, array: [], string: '' },
    nested: { a: { b: { c: { d: [[[[{ e: [1, [2, [3, { f: null }]]] }]]]] } } } },
    mixed: [1, 'two', null, false, { three: [3] }, [], {}],
    awkwardKeys,
    long: 'x'.repeat(100_000) + '\ud800' + 'é'.repeat(1000)
  }
}

// ---------------------------------------------------------------------------
// What is stored, for comparisons before / after.

async function snapshot(store: ClientStore, collections: string[]) {
  const records: Record<string, LocalRecord[]> = {}
  for (const collectionId of collections) records[collectionId] = await store.listRecords(collectionId)
  return {
    records,
    pending: (await store.listPendingRecords()).sort(byRecordKey),
    outbox: await store.listOutbox(),
    meta: await store.listMeta('')
  }
}

// ---------------------------------------------------------------------------
// The checks.

export const storeChecks: StoreCheck[] = [
  {
    name: 'records round-trip JSON data of every kind',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const values: Json[] = [richData(), ...STRINGS, ...NUMBERS, null, true, false, [], {}, [null, [], {}], { nested: { empty: [] } }]
        const records = values.map((data, index) => record('kinds', `v${String(index).padStart(3, '0')}`, { data, version: 2, syncedVersion: 1 }))
        records.push(
          record('kinds', 'tombstone', { data: null, deleted: true, version: 5, syncedVersion: 4 }),
          record('kinds', 'with-base', {
            data: { local: true },
            base: serverRecord('with-base', 7, richData()),
            conflict: { server: serverRecord('with-base', 8, { theirs: ['x', '\u0000'] }), at: '2026-03-04T05:06:07.089Z' },
            pendingSince: '2026-03-04T05:06:00.000Z',
            version: 12,
            syncedVersion: 9
          }),
          record('kinds', 'with-nulls', { conflict: null, pendingSince: null, base: serverRecord('with-nulls', 1, null) })
        )
        await store.write(records.map(putRecord))
        for (const expected of records) {
          assertEqual(await store.getRecord('kinds', expected.id), expected, `getRecord('kinds', '${expected.id}') returns the record as written`)
        }
        assertEqual(await store.listRecords('kinds'), [...records].sort(byRecordKey), 'listRecords returns every record as written')
        assertEqual(
          await store.getRecords('kinds', [...records.map((r) => r.id)].reverse().concat(['missing'])),
          [...records].reverse().map((r) => r as LocalRecord | undefined).concat([undefined]),
          'getRecords answers one entry per id, in the order asked, undefined where there is none'
        )
        assertEqual(await store.getRecords('other', records.map((r) => r.id)), records.map(() => undefined), 'getRecords reads only the collection asked')
        const got = await store.getRecord('kinds', 'v000')
        const awkward = (got?.data as { awkwardKeys: object }).awkwardKeys
        assert(Object.keys(awkward).includes('__proto__'), 'an own "__proto__" key of data is kept as an own key')
        assert(Object.getPrototypeOf(awkward) === Object.prototype, 'data comes back as plain objects')
      })
  },
  {
    name: 'reading what is not there: getRecord → undefined, getMeta → undefined, empty lists',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        assertEqual(await store.getRecord('notes', 'a'), undefined, 'getRecord in an empty store')
        assertEqual(await store.getMeta('cursor:notes'), undefined, 'getMeta in an empty store')
        assertEqual(await store.listRecords('notes'), [], 'listRecords in an empty store')
        assertEqual(await store.listPendingRecords(), [], 'listPendingRecords in an empty store')
        assertEqual(await store.listOutbox(), [], 'listOutbox in an empty store')
        assertEqual(await store.listMeta(''), [], 'listMeta in an empty store')
        await store.write([putRecord(record('notes', 'a')), putRecord(record('other', 'b')), putMeta('cursor:notes', { cursor: 'c', last: 1 })])
        assertEqual(await store.getRecord('other', 'a'), undefined, 'getRecord of an id that exists only in another collection')
        assertEqual(await store.getRecord('notes', 'b'), undefined, 'getRecord of an id that exists only in another collection')
        assertEqual(await store.getRecord('notes', 'A'), undefined, 'getRecord is case-sensitive')
        assertEqual(await store.getRecord('note', 'a'), undefined, 'getRecord of a collection id that is a prefix of another')
        assertEqual(await store.getMeta('cursor:note'), undefined, 'getMeta of a prefix of an existing key')
        assertEqual(await store.getMeta('cursor:notes2'), undefined, 'getMeta of a longer key')
        assertEqual(await store.listRecords('nothing'), [], 'listRecords of an unknown collection')
        await store.write([{ type: 'deleteRecord', collectionId: 'notes', id: 'a' }, { type: 'deleteMeta', key: 'cursor:notes' }])
        assertEqual(await store.getRecord('notes', 'a'), undefined, 'getRecord after deleteRecord')
        assertEqual(await store.getMeta('cursor:notes'), undefined, 'getMeta after deleteMeta')
      })
  },
  {
    name: 'listRecords returns one collection only, ordered by id (JS string order)',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const ids = ['b', 'B', 'a', 'A', '_', '-', '~', '.', '0', '10', '9', '1', 'a.b', 'a-b', 'a_b', 'a~b', 'aa', 'a', 'Z', 'z', '00', 'x'.repeat(200)]
        const unique = [...new Set(ids)]
        const collections = ['a', 'ab', 'a.b', 'A', 'b']
        // Written in several writes and in a scrambled order, some as tombstones.
        for (const collectionId of collections) {
          const scrambled = unique.map((id, index) => ({ id, index })).sort((x, y) => ((x.index * 7) % 11) - ((y.index * 7) % 11))
          await store.write(scrambled.slice(0, 10).map(({ id, index }) => putRecord(record(collectionId, id, { deleted: index % 3 === 0, data: index % 3 === 0 ? null : { id } }))))
          await store.write(scrambled.slice(10).map(({ id, index }) => putRecord(record(collectionId, id, { deleted: index % 3 === 0, data: index % 3 === 0 ? null : { id } }))))
        }
        const sorted = [...unique].sort(compare)
        for (const collectionId of collections) {
          const listed = await store.listRecords(collectionId)
          assertEqual(
            listed.map((r) => r.id),
            sorted,
            `listRecords('${collectionId}') lists the ids of that collection in JS string order (tombstones included)`
          )
          assert(
            listed.every((r) => r.collectionId === collectionId),
            `listRecords('${collectionId}') returns only records of that collection`
          )
        }
      })
  },
  {
    name: 'pageRecords: a window of one collection ordered by id, filtered by id prefix and tombstones, with counts',
    run: (open) =>
      withStores(open, async ({ open, close }) => {
        let store = await open()
        // Ids the client allows (ASCII), chosen so that prefixes cut across the order: 'a' < 'a-b' < 'a.b' < 'a0' < 'a_b' < 'aa' < 'ab' < 'b'.
        const ids = ['a', 'a-b', 'a.b', 'a0', 'a_b', 'aa', 'aaa', 'ab', 'abc', 'A', 'B', 'b', 'ba', 'z', 'z~', '0', '00', '9', '_x', '~'.repeat(3)]
        const state = new Map<string, LocalRecord>()
        const put = (value: LocalRecord) => state.set(`${value.collectionId}\u0000${value.id}`, value)
        const collections = ['a', 'ab', 'a.b']
        for (const [c, collectionId] of collections.entries()) {
          // Scrambled order, several writes; every third one (shifted per collection) a tombstone.
          const scrambled = ids.map((id, index) => ({ id, index })).sort((x, y) => ((x.index * 7) % 11) - ((y.index * 7) % 11))
          for (const part of [scrambled.slice(0, 7), scrambled.slice(7)]) {
            const records = part.map(({ id, index }) => {
              const deleted = (index + c) % 3 === 0
              return record(collectionId, id, { deleted, data: deleted ? null : { id, n: index }, version: 1 + (index % 2), syncedVersion: 1 })
            })
            records.forEach(put)
            await store.write(records.map(putRecord))
          }
        }
        const expected = (collectionId: string, options: { offset: number; limit: number; idPrefix?: string; includeDeleted?: boolean }) => {
          const sorted = [...state.values()].filter((r) => r.collectionId === collectionId).sort(byRecordKey)
          const counted = options.includeDeleted ? sorted : sorted.filter((r) => !r.deleted)
          const matching = counted.filter((r) => r.id.startsWith(options.idPrefix ?? ''))
          return { records: matching.slice(options.offset, options.offset + options.limit), matching: matching.length, total: counted.length }
        }
        const checkAll = async (when: string) => {
          for (const collectionId of [...collections, 'nothing']) {
            for (const includeDeleted of [false, true, undefined]) {
              for (const idPrefix of [undefined, '', 'a', 'a.', 'aa', 'A', 'z~', '~', 'a-b', 'abcd', 'c', '\uffff']) {
                for (const [offset, limit] of [[0, 1000], [0, 3], [2, 3], [5, 1], [0, 0], [7, 1000], [19, 5], [100, 10]] as const) {
                  const options = { offset, limit, ...(idPrefix === undefined ? {} : { idPrefix }), ...(includeDeleted === undefined ? {} : { includeDeleted }) }
                  assertEqual(await store.pageRecords(collectionId, options), expected(collectionId, options), `${when}: pageRecords('${collectionId}', ${stableJson(options)})`)
                }
              }
            }
          }
        }
        await checkAll('after the first writes')

        // A live record becomes a tombstone and a tombstone comes back: the live counts follow.
        const revived = record('a', 'a', { data: { back: true }, version: 3, syncedVersion: 3 })
        const buried = record('a', 'aa', { deleted: true, data: null, version: 4, syncedVersion: 3 })
        const fresh = record('a', 'a0a', { data: { fresh: true }, version: 1, syncedVersion: 0 })
        for (const value of [revived, buried, fresh]) put(value)
        await store.write([putRecord(revived), putRecord(buried), putRecord(fresh), { type: 'deleteRecord', collectionId: 'a', id: 'b' }, { type: 'clearRecords', collectionId: 'ab' }])
        state.delete('a\u0000b')
        for (const key of [...state.keys()]) if (key.startsWith('ab\u0000')) state.delete(key)
        await checkAll('after records changed between live and deleted, a delete and a clear')

        await close(store)
        store = await open()
        await checkAll('in a store opened again')

        for (const bad of [{ offset: -1, limit: 1 }, { offset: 0.5, limit: 1 }, { offset: 0, limit: 1001 }, { offset: 0, limit: -1 }, { offset: 0, limit: Number.NaN }, { offset: 0, limit: 1, idPrefix: 5 }, { offset: 0, limit: 1, includeDeleted: 'yes' }]) {
          const error = await rejection(store.pageRecords('a', bad as never), `pageRecords with ${stableJson(bad)}`)
          assert(error instanceof TypeError, `pageRecords with ${stableJson(bad)} rejects with a TypeError, not ${String(error)}`)
        }
      })
  },
  {
    name: 'listPendingRecords returns the records with version > syncedVersion, of every collection',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const records = [
          record('a', 'pending', { version: 3, syncedVersion: 2 }),
          record('a', 'synced', { version: 3, syncedVersion: 3 }),
          record('a', 'never-synced', { version: 1, syncedVersion: 0 }),
          record('b', 'pending-tombstone', { version: 4, syncedVersion: 1, deleted: true, data: null }),
          record('b', 'synced-tombstone', { version: 4, syncedVersion: 4, deleted: true, data: null }),
          record('b', 'behind', { version: 2, syncedVersion: 5 }),
          record('ab', 'pending', { version: 10, syncedVersion: 9 })
        ]
        await store.write(records.map(putRecord))
        const pending = (list: LocalRecord[]) => list.filter((r) => r.version > r.syncedVersion).sort(byRecordKey)
        assertEqual((await store.listPendingRecords()).sort(byRecordKey), pending(records), 'listPendingRecords after the first write')
        // The sync loop catches up with one, a local write makes another pending.
        const updated = [
          record('a', 'pending', { version: 3, syncedVersion: 3 }),
          record('a', 'synced', { version: 4, syncedVersion: 3, data: { edited: true } }),
          ...records.slice(2)
        ]
        await store.write([putRecord(updated[0]!), putRecord(updated[1]!)])
        assertEqual((await store.listPendingRecords()).sort(byRecordKey), pending(updated), 'listPendingRecords after records changed state')
        await store.write([{ type: 'deleteRecord', collectionId: 'a', id: 'never-synced' }, { type: 'clearRecords', collectionId: 'b' }])
        assertEqual(
          (await store.listPendingRecords()).sort(byRecordKey),
          pending(updated.filter((r) => r.id !== 'never-synced' && r.collectionId !== 'b')),
          'listPendingRecords after deleteRecord and clearRecords'
        )
      })
  },
  {
    name: 'listOutbox returns the entries in `order` (numeric), replacing an entry by id',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        // Ids that sort the other way round, orders that sort differently as text.
        const orders = [5, 1, 10, 2, 3.5, 100, 0, 21, 1000, 9]
        const entries = orders.map((order, index) => entry(`e${String(99 - index).padStart(2, '0')}`, order))
        entries[3] = entry(entries[3]!.id, entries[3]!.order, {
          op: 'patch',
          groupId: 'group-1',
          lockToken: 42,
          state: 'rejected',
          reason: { code: 423, name: 'Locked', message: 'lock lost', data: { holder: 'u2', nested: [null, '\u0000'] } },
          data: richData()
        })
        entries[4] = entry(entries[4]!.id, entries[4]!.order, { op: 'delete', data: null, groupId: null, lockToken: null, reason: null, state: 'conflict' })
        await store.write(entries.slice(0, 5).map(putOutbox))
        await store.write(entries.slice(5).map(putOutbox))
        const inOrder = (list: OutboxEntry[]) => [...list].sort((a, b) => a.order - b.order)
        assertEqual(await store.listOutbox(), inOrder(entries), 'listOutbox lists every entry as written, in numeric `order`')

        // Same id again: replaced, not added.
        const replaced = { ...entries[0]!, state: 'conflict' as const, reason: { code: 409, name: 'Conflict', message: 'changed' } }
        await store.write([putOutbox(replaced)])
        const afterReplace = entries.map((e) => (e.id === replaced.id ? replaced : e))
        assertEqual(await store.listOutbox(), inOrder(afterReplace), 'putOutbox with an existing id replaces that entry')

        await store.write([{ type: 'deleteOutbox', id: entries[1]!.id }, { type: 'deleteOutbox', id: 'no-such-entry' }])
        assertEqual(await store.listOutbox(), inOrder(afterReplace.filter((e) => e.id !== entries[1]!.id)), 'deleteOutbox removes that entry only (a missing id is ignored)')
      })
  },
  {
    name: 'meta: getMeta, and listMeta by prefix ordered by key (JS string order, no wildcards)',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const values: Record<string, Json> = {
          'cursor:b': { cursor: 'c2', last: 2 },
          'cursor:a': { cursor: 'c1', last: 1 },
          'cursor:a.b': { cursor: null, last: 0 },
          cursor: 'no colon',
          cursorx: 1.5,
          'Cursor:z': false,
          session: { accessToken: 'token\u0000\ud800', userId: 'u1' },
          session2: null,
          'group:g1': ['x', { y: [] }],
          'push:1': richData(),
          a_b: 'underscore',
          axb: 'x',
          'a%c': 'percent',
          abc: 'abc',
          'x*y': 'star',
          xzy: 'z',
          '[k]': 'bracket',
          k: 'k',
          '': 'empty key',
          'p\uffff': 1,
          'p\uffffq': 2,
          'p\uffff\uffffz': 3,
          'p🦜': 4,
          pz: 5
        }
        // Written in two writes, the second in reverse.
        const keys = Object.keys(values)
        await store.write(keys.slice(0, 12).map((key) => putMeta(key, values[key])))
        await store.write(keys.slice(12).reverse().map((key) => putMeta(key, values[key])))
        for (const key of keys) assertEqual(await store.getMeta(key), values[key], `getMeta('${key}')`)
        const expected = (prefix: string) =>
          keys
            .filter((key) => key.startsWith(prefix))
            .sort(compare)
            .map((key) => [key, values[key]])
        for (const prefix of ['', 'cursor:', 'cursor', 'Cursor', 'session', 'a_', 'a%', 'x*', '[', 'p\uffff', 'p', 'push:', 'none']) {
          assertEqual(await store.listMeta(prefix), expected(prefix), `listMeta(${JSON.stringify(prefix)}) lists exactly the keys that start with it, in JS string order`)
        }
        await store.write([putMeta('cursor:a', { cursor: 'c9', last: 9 })])
        assertEqual(await store.getMeta('cursor:a'), { cursor: 'c9', last: 9 }, 'putMeta replaces the value of an existing key')
        await store.write([{ type: 'deleteMeta', key: 'cursor:b' }, { type: 'deleteMeta', key: 'no-such-key' }])
        assertEqual(
          (await store.listMeta('cursor:')).map(([key]) => key),
          ['cursor:a', 'cursor:a.b'],
          'deleteMeta removes that key only (a missing key is ignored)'
        )
      })
  },
  {
    name: 'deleteRecord removes one record; clearRecords drops one collection only',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const collections = ['a', 'ab', 'a.b', 'A', 'b']
        const records = collections.flatMap((collectionId) => ['1', '2', '3'].map((id) => record(collectionId, id, { version: Number(id), syncedVersion: 1 })))
        await store.write([...records.map(putRecord), putOutbox(entry('e1', 1, { collectionId: 'a' })), putMeta('cursor:a', { cursor: 'x', last: 3 })])
        await store.write([{ type: 'deleteRecord', collectionId: 'a', id: '2' }, { type: 'deleteRecord', collectionId: 'a', id: 'missing' }, { type: 'deleteRecord', collectionId: 'nothing', id: '1' }])
        let expected = records.filter((r) => !(r.collectionId === 'a' && r.id === '2'))
        for (const collectionId of collections) {
          assertEqual(await store.listRecords(collectionId), expected.filter((r) => r.collectionId === collectionId), `after deleteRecord a/2: listRecords('${collectionId}')`)
        }
        await store.write([{ type: 'clearRecords', collectionId: 'a' }, { type: 'clearRecords', collectionId: 'nothing' }])
        expected = expected.filter((r) => r.collectionId !== 'a')
        for (const collectionId of collections) {
          assertEqual(await store.listRecords(collectionId), expected.filter((r) => r.collectionId === collectionId), `after clearRecords('a'): listRecords('${collectionId}')`)
        }
        assertEqual((await store.listPendingRecords()).sort(byRecordKey), expected.filter((r) => r.version > r.syncedVersion).sort(byRecordKey), "after clearRecords('a'): listPendingRecords")
        assertEqual(await store.listOutbox(), [entry('e1', 1, { collectionId: 'a' })], 'clearRecords leaves the outbox alone')
        assertEqual(await store.getMeta('cursor:a'), { cursor: 'x', last: 3 }, 'clearRecords leaves meta alone')
      })
  },
  {
    name: 'a write applies its changes in the order given (and an empty write changes nothing)',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        await store.write([])
        assertEqual(await snapshot(store, ['c']), { records: { c: [] }, pending: [], outbox: [], meta: [] }, 'an empty write leaves the store empty')
        const first = record('c', 'r1', {
          data: { v: 1 },
          conflict: { server: null, at: '2026-01-01T00:00:00.000Z' },
          pendingSince: '2026-01-01T00:00:00.000Z',
          version: 2,
          syncedVersion: 1
        })
        await store.write([
          putRecord(record('c', 'gone')),
          { type: 'deleteRecord', collectionId: 'c', id: 'gone' },
          { type: 'deleteRecord', collectionId: 'c', id: 'back' },
          putRecord(record('c', 'back')),
          putRecord(record('c', 'cleared')),
          { type: 'clearRecords', collectionId: 'c' },
          putRecord(first),
          putMeta('m', 1),
          putMeta('m', 2),
          putMeta('dropped', 1),
          { type: 'deleteMeta', key: 'dropped' },
          putOutbox(entry('e', 1, { state: 'pending' })),
          putOutbox(entry('e', 2, { state: 'conflict' })),
          putOutbox(entry('x', 3)),
          { type: 'deleteOutbox', id: 'x' }
        ])
        assertEqual(await store.listRecords('c'), [first], 'put then delete → gone; delete then put → there; clearRecords then put → only the later put')
        assertEqual(await store.listMeta(''), [['m', 2]], 'putMeta twice → the later value; put then deleteMeta → gone')
        assertEqual(await store.listOutbox(), [entry('e', 2, { state: 'conflict' })], 'putOutbox twice → the later entry; put then deleteOutbox → gone')
        // A record put again without its optional fields loses them.
        const second = record('c', 'r1', { data: { v: 2 }, version: 2, syncedVersion: 2 })
        await store.write([putRecord(second)])
        const got = await store.getRecord('c', 'r1')
        assertEqual(got, second, 'putRecord replaces the whole record')
        assert(got !== undefined && (got.conflict ?? null) === null && (got.pendingSince ?? null) === null, 'fields left out of the new record are gone')
      })
  },
  {
    name: 'a write holding a value that cannot be stored rejects with a TypeError and applies none of its changes',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const cycle: Record<string, unknown> = { name: 'loop' }
        cycle.self = cycle
        // Every value sits under the key "culprit": the error message must name it.
        const bad: Array<[string, unknown]> = [
          ['a function', () => 1],
          ['a BigInt', BigInt(1)],
          ['undefined', undefined],
          ['NaN', Number.NaN],
          ['Infinity', Number.POSITIVE_INFINITY],
          ['a Date', new Date(0)],
          ['a Map', new Map([['k', 1]])],
          ['a symbol', Symbol('s')],
          ['a cycle', cycle]
        ]
        const seed: StoreChange[] = [
          putRecord(record('c', 'kept', { version: 2, syncedVersion: 1 })),
          putRecord(record('d', 'kept')),
          putOutbox(entry('kept', 1)),
          putMeta('kept', { v: 1 })
        ]
        await store.write(seed)
        const before = await snapshot(store, ['c', 'd'])
        for (const [kind, value] of bad) {
          const data = { ok: 1, deep: [{ fine: 'yes', culprit: value }] } as unknown as Json
          const wrappers: Array<[string, StoreChange]> = [
            ['record data', putRecord(record('c', 'bad', { data }))],
            ['outbox entry data', putOutbox(entry('bad', 9, { data }))],
            ['a meta value', putMeta('bad', data)]
          ]
          for (const [where, badChange] of wrappers) {
            // The bad change comes last: a store that applied changes one by one would have applied the rest.
            const changes: StoreChange[] = [
              putRecord(record('c', 'new', { version: 5, syncedVersion: 0 })),
              { type: 'deleteRecord', collectionId: 'c', id: 'kept' },
              { type: 'clearRecords', collectionId: 'd' },
              putOutbox(entry('new', 2)),
              { type: 'deleteOutbox', id: 'kept' },
              putMeta('new', 'value'),
              { type: 'deleteMeta', key: 'kept' },
              badChange
            ]
            const error = await rejection(store.write(changes), `a write with ${kind} in ${where}`)
            assert(error instanceof TypeError, `a write with ${kind} in ${where} must reject with a TypeError, got ${String(error)}`)
            assert(/culprit/.test(error.message), `the error for ${kind} in ${where} names where the value is ("culprit"): ${error.message}`)
            assertEqual(await snapshot(store, ['c', 'd']), before, `after the rejected write with ${kind} in ${where}, nothing changed`)
          }
        }
        // A function at the top of a record's data, too.
        await rejection(store.write([putRecord(record('c', 'top', { data: (() => 1) as unknown as Json }))]), 'a record whose data is a function')
        assertEqual(await snapshot(store, ['c', 'd']), before, 'after the rejected write of a record whose data is a function, nothing changed')
        // The store still works.
        await store.write([putRecord(record('c', 'after'))])
        assertEqual(await store.getRecord('c', 'after'), record('c', 'after'), 'a write after rejected ones works')
      })
  },
  {
    name: 'values are copies: mutating what was written or what was read does not change the store',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const written = record('c', 'r', { data: { list: [1, 2], nested: { a: 'a' } }, version: 2, syncedVersion: 1 })
        const writtenEntry = entry('e', 1, { data: { list: [1] } })
        const writtenMeta = { cursor: 'c', nested: { last: 1 } }
        const changes = [putRecord(written), putOutbox(writtenEntry), putMeta('m', writtenMeta)]
        await store.write(changes)
        const expected = await snapshot(store, ['c'])
        const copyOfExpected = JSON.parse(JSON.stringify(expected)) as unknown

        // Mutate what was passed in.
        ;(written.data as { list: number[] }).list.push(3)
        ;(written.data as { nested: { a: string } }).nested.a = 'changed'
        written.version = 99
        ;(writtenEntry.data as { list: number[] }).list.push(2)
        writtenEntry.state = 'rejected'
        writtenMeta.nested.last = 99
        changes.length = 0
        assertEqual(await snapshot(store, ['c']), copyOfExpected, 'mutating the objects passed to write changed the store')

        // Mutate what was read.
        const gotRecord = (await store.getRecord('c', 'r'))!
        ;(gotRecord.data as { list: number[] }).list.push(4)
        gotRecord.deleted = true
        const listed = await store.listRecords('c')
        ;(listed[0]!.data as { nested: { a: string } }).nested.a = 'listed'
        const pending = await store.listPendingRecords()
        pending[0]!.syncedVersion = 2
        const outbox = await store.listOutbox()
        ;(outbox[0]!.data as { list: number[] }).list.length = 0
        const meta = (await store.getMeta<{ nested: { last: number } }>('m'))!
        meta.nested.last = -1
        const metaList = await store.listMeta<{ cursor: string }>('')
        metaList[0]![1].cursor = 'listed'
        assertEqual(await snapshot(store, ['c']), copyOfExpected, 'mutating values read from the store changed the store')
      })
  },
  {
    name: 'write copies its input when it is called (mutating it before the write resolves changes nothing)',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const written = record('c', 'r', { data: { v: 'as called' } })
        const meta = { v: 'as called' }
        const writing = store.write([putRecord(written), putMeta('m', meta)])
        ;(written.data as { v: string }).v = 'mutated'
        meta.v = 'mutated'
        await writing
        assertEqual(await store.getRecord('c', 'r'), record('c', 'r', { data: { v: 'as called' } }), 'the record as it was when write was called')
        assertEqual(await store.getMeta('m'), { v: 'as called' }, 'the meta value as it was when write was called')
      })
  },
  {
    name: 'everything survives close and reopen',
    run: (open) =>
      withStores(open, async (stores) => {
        const collections = ['notes', 'tasks', 'notes2']
        const first = await stores.open()
        await first.write([
          putRecord(record('notes', 'a', { data: richData(), version: 3, syncedVersion: 2, pendingSince: '2026-05-05T00:00:00.000Z', base: serverRecord('a', 2, { old: true }) })),
          putRecord(record('notes', 'b', { deleted: true, data: null })),
          putRecord(record('tasks', 'a', { data: ['t', 1, null] })),
          putOutbox(entry('e2', 2, { data: richData() })),
          putOutbox(entry('e1', 1, { groupId: 'g', lockToken: 7 })),
          putMeta('cursor:notes', { cursor: 'abc', last: 41 }),
          putMeta('session', { accessToken: 'tok', userId: 'u' }),
          putMeta('clientId', 'client-1')
        ])
        await first.write([putRecord(record('notes2', 'z', { version: 1, syncedVersion: 0 }))])
        const written = await snapshot(first, collections)
        await stores.close(first)

        const second = await stores.open()
        assertEqual(await snapshot(second, collections), written, 'a reopened store holds everything written before close')
        await second.write([
          { type: 'deleteRecord', collectionId: 'notes', id: 'b' },
          { type: 'deleteOutbox', id: 'e1' },
          { type: 'deleteMeta', key: 'session' },
          putRecord(record('tasks', 'b')),
          putMeta('cursor:notes', { cursor: 'abd', last: 42 })
        ])
        const changed = await snapshot(second, collections)
        await stores.close(second)

        const third = await stores.open()
        assertEqual(await snapshot(third, collections), changed, 'a store reopened again holds the changes made by the previous opening')
        assertEqual(await third.getRecord('notes', 'a'), written.records.notes![0], 'getRecord after reopen')
        assertEqual(await third.getMeta('cursor:notes'), { cursor: 'abd', last: 42 }, 'getMeta after reopen')
      })
  },
  {
    name: 'two store objects on the same storage see each other\u2019s writes',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const a = await open()
        const b = await open()
        await a.write([putRecord(record('c', '1', { version: 2, syncedVersion: 1 })), putOutbox(entry('e1', 1)), putMeta('cursor:c', { last: 1 })])
        assertEqual(await b.getRecord('c', '1'), record('c', '1', { version: 2, syncedVersion: 1 }), "B reads A's record")
        assertEqual(await b.listPendingRecords(), [record('c', '1', { version: 2, syncedVersion: 1 })], "B lists A's pending record")
        assertEqual(await b.listOutbox(), [entry('e1', 1)], "B lists A's outbox entry")
        assertEqual(await b.getMeta('cursor:c'), { last: 1 }, "B reads A's meta")
        await b.write([putRecord(record('c', '2')), { type: 'deleteOutbox', id: 'e1' }, putMeta('cursor:c', { last: 2 })])
        assertEqual(await a.listRecords('c'), [record('c', '1', { version: 2, syncedVersion: 1 }), record('c', '2')], "A lists B's record next to its own")
        assertEqual(await a.listOutbox(), [], "A sees B's deleteOutbox")
        assertEqual(await a.listMeta('cursor:'), [['cursor:c', { last: 2 }]], "A sees B's putMeta")
        await a.write([{ type: 'clearRecords', collectionId: 'c' }])
        assertEqual(await b.listRecords('c'), [], "B sees A's clearRecords")
      })
  },
  {
    name: 'runExclusive runs functions one at a time, in call order, and store calls work inside',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const events: string[] = []
        // The first function is the slowest: a store that does not queue would interleave them.
        const delays = [30, 0, 10, 1, 5]
        const calls = delays.map((delay, index) =>
          store.runExclusive(async () => {
            events.push(`start ${index}`)
            await pause(delay)
            // Reads and writes of the store inside a runExclusive must not wait for it.
            await store.write([putMeta(`n:${index}`, index)])
            const before = await store.getMeta<number>(`n:${index}`)
            await pause(delay)
            events.push(`end ${index}`)
            return { index, before }
          })
        )
        const results = await Promise.all(calls)
        assertEqual(
          events,
          delays.flatMap((_, index) => [`start ${index}`, `end ${index}`]),
          'each function starts after the previous one ended, in call order'
        )
        assertEqual(
          results,
          delays.map((_, index) => ({ index, before: index })),
          'each caller gets its own function\u2019s result'
        )
      })
  },
  {
    name: 'runExclusive: a failing function does not block the next one; results and errors reach their caller',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const store = await open()
        const events: string[] = []
        const asyncError = new Error('async failure')
        const syncError = new Error('sync failure')
        const result = { the: 'result' }
        const failingAsync = store.runExclusive(async () => {
          events.push('async')
          await pause(5)
          throw asyncError
        })
        const failingSync = store.runExclusive((() => {
          events.push('sync')
          throw syncError
        }) as () => Promise<never>)
        const succeeding = store.runExclusive(async () => {
          events.push('ok')
          await pause(1)
          return result
        })
        assert((await rejection(failingAsync, 'runExclusive of a function that rejects')) === asyncError, 'runExclusive rejects with the very error its function rejected with')
        assert((await rejection(failingSync, 'runExclusive of a function that throws at once')) === syncError, 'runExclusive rejects with the very error its function threw')
        assert((await succeeding) === result, 'runExclusive resolves to the very value its function returned')
        assertEqual(events, ['async', 'sync', 'ok'], 'every function ran, in call order')
        assertEqual(await store.runExclusive(async () => 'later'), 'later', 'runExclusive still works after failures')
      })
  },
  {
    name: 'runExclusive excludes functions of another store object on the same storage',
    run: (open) =>
      withStores(open, async ({ open }) => {
        const a = await open()
        const b = await open()
        const events: string[] = []
        const run = (store: ClientStore, name: string, delay: number) =>
          store.runExclusive(async () => {
            events.push(`start ${name}`)
            await pause(delay)
            events.push(`end ${name}`)
          })
        // A's function holds the turn first and is slower; B's must wait for it.
        const first = run(a, 'A1', 30)
        await pause(0)
        const second = run(b, 'B1', 0)
        const third = run(a, 'A2', 0)
        await Promise.all([first, second, third])
        assertEqual(events, ['start A1', 'end A1', 'start B1', 'end B1', 'start A2', 'end A2'], 'functions of two store objects on one storage run one at a time, in call order')
      })
  }
]
