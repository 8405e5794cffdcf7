import { describe, expect, it } from 'vitest'
import { assertStorable } from '../../../src/client/stores/storable.js'
import type { StoreChange } from '../../../src/client/stores/types.js'
import type { LocalRecord, OutboxEntry } from '../../../src/client/types.js'

const record = (fields: Partial<LocalRecord> = {}): LocalRecord => ({ collectionId: 'notes', id: 'n1', data: { a: 1 }, deleted: false, version: 1, syncedVersion: 0, base: null, ...fields })
const entry = (fields: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id: 'e1',
  order: 1,
  collectionId: 'notes',
  recordId: 'n1',
  op: 'put',
  data: { a: 1 },
  localVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  state: 'pending',
  ...fields
})
const refused = (changes: unknown) => () => assertStorable(changes as StoreChange[])

describe('assertStorable (what every store checks before a write)', () => {
  it('accepts well-formed changes, optional fields left undefined, and astral characters in keys', () => {
    expect(() =>
      assertStorable([
        { type: 'putRecord', record: record({ conflict: undefined, pendingSince: undefined }) },
        { type: 'putRecord', record: record({ collectionId: 'c🦜', id: '🦜', data: null, deleted: true }) },
        { type: 'putOutbox', entry: entry({ groupId: undefined, lockToken: undefined, reason: undefined }) },
        { type: 'putMeta', key: 'cursor:notes', value: { cursor: null, last: 0 } },
        { type: 'putMeta', key: 'fatal', value: null },
        { type: 'deleteRecord', collectionId: 'notes', id: 'n1' },
        { type: 'clearRecords', collectionId: 'notes' },
        { type: 'deleteOutbox', id: 'e1' },
        { type: 'deleteMeta', key: 'session' }
      ])
    ).not.toThrow()
  })

  it('refuses non-JSON values in data, in the other fields and in meta values, naming where', () => {
    expect(refused([{ type: 'putRecord', record: record({ data: { when: new Date(0) } as never }) }])).toThrow(/^record notes\/n1: data\.when is a Date \(/)
    expect(refused([{ type: 'putRecord', record: record({ data: undefined as never }) }])).toThrow(/^record notes\/n1: data is undefined/)
    expect(refused([{ type: 'putRecord', record: record({ base: { version: BigInt(1) } as never }) }])).toThrow(/^record notes\/n1: base\.version is a BigInt/)
    expect(refused([{ type: 'putOutbox', entry: entry({ data: [1, () => 2] as never }) }])).toThrow(/^outbox entry e1: data\[1\] is a function/)
    expect(refused([{ type: 'putOutbox', entry: entry({ reason: { code: 1, name: 'x', message: 'm', data: Number.NaN } }) }])).toThrow(/^outbox entry e1: reason\.data is NaN/)
    expect(refused([{ type: 'putMeta', key: 'push:1', value: { request: { body: undefined } } }])).toThrow(/^meta "push:1": value\.request\.body is undefined/)
    expect(refused([{ type: 'putMeta', key: 'k', value: undefined }])).toThrow('meta "k": the value is undefined (deleteMeta removes an entry)')
  })

  it('refuses records and entries whose keys or counters are not usable', () => {
    expect(refused([{ type: 'putRecord', record: record({ id: 7 as never }) }])).toThrow('change 0: record.id must be a string')
    expect(refused([{ type: 'putRecord', record: record({ version: Number.NaN }) }])).toThrow('record notes/n1: version must be a finite number')
    expect(refused([{ type: 'putRecord', record: record({ deleted: 'no' as never }) }])).toThrow('record notes/n1: deleted must be a boolean')
    expect(refused([{ type: 'putOutbox', entry: entry({ order: '1' as never }) }])).toThrow('outbox entry e1: order must be a finite number')
    expect(refused([{ type: 'putRecord', record: record() }, { type: 'deleteMeta', key: 'a\ud800' }])).toThrow('change 1: meta key "a\\ud800" holds a lone surrogate')
    expect(refused([{ type: 'deleteRecord', collectionId: 'notes', id: '\udc00' }])).toThrow('lone surrogate')
  })

  it('refuses what is not a list of known changes', () => {
    expect(refused({ type: 'putMeta', key: 'k', value: 1 })).toThrow('store.write takes an array of changes')
    expect(refused([null])).toThrow('change 0 is not a change object')
    expect(refused([{ type: 'putMeta', key: 'k', value: 1 }, { type: 'dropEverything' }])).toThrow('change 1 has an unknown type "dropEverything"')
    expect(refused([{ type: 'putRecord' }])).toThrow('change 0: putRecord needs a record object')
  })
})
