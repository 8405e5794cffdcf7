import { assertJson } from '../json.js'
import type { StoreChange } from './types.js'

/**
 * What every store checks before it applies a write, so that all stores
 * accept and refuse the same changes (memory and IndexedDB would take a
 * BigInt or a Date through structured clone; SQLite keeps JSON text): a bad
 * change anywhere in the list throws a TypeError before anything is written.
 *
 * Record and outbox `data` must be strict JSON (assertJson). The other fields
 * of a record or an outbox entry must be JSON too, except that a field set to
 * `undefined` (an optional field such as `conflict`) is allowed: it reads back
 * as absent. Keys (collection ids, record ids, outbox ids, meta keys) must be
 * well-formed strings: a lone surrogate cannot go into SQLite's UTF-8 text
 * unchanged, so two different keys could become one.
 */
export function assertStorable(changes: StoreChange[]): void {
  if (!Array.isArray(changes)) throw new TypeError('store.write takes an array of changes')
  changes.forEach((change, index) => checkChange(change, `change ${index}`))
}

function checkChange(change: StoreChange, where: string): void {
  if (change === null || typeof change !== 'object') throw new TypeError(`${where} is not a change object`)
  switch (change.type) {
    case 'putRecord': {
      const record = change.record
      if (record === null || typeof record !== 'object') throw new TypeError(`${where}: putRecord needs a record object`)
      key(record.collectionId, `${where}: record.collectionId`)
      key(record.id, `${where}: record.id`)
      const name = `record ${record.collectionId}/${record.id}`
      if (typeof record.deleted !== 'boolean') throw new TypeError(`${name}: deleted must be a boolean`)
      counter(record.version, `${name}: version`)
      counter(record.syncedVersion, `${name}: syncedVersion`)
      fields(record, name)
      return
    }
    case 'putOutbox': {
      const entry = change.entry
      if (entry === null || typeof entry !== 'object') throw new TypeError(`${where}: putOutbox needs an entry object`)
      key(entry.id, `${where}: outbox entry id`)
      const name = `outbox entry ${entry.id}`
      counter(entry.order, `${name}: order`)
      key(entry.collectionId, `${name}: collectionId`)
      key(entry.recordId, `${name}: recordId`)
      fields(entry, name)
      return
    }
    case 'putMeta':
      key(change.key, `${where}: meta key`)
      if (change.value === undefined) throw new TypeError(`meta ${JSON.stringify(change.key)}: the value is undefined (deleteMeta removes an entry)`)
      assertJson(change.value, `meta ${JSON.stringify(change.key)}: value`)
      return
    case 'deleteRecord':
      key(change.collectionId, `${where}: collectionId`)
      key(change.id, `${where}: id`)
      return
    case 'clearRecords':
      key(change.collectionId, `${where}: collectionId`)
      return
    case 'deleteOutbox':
      key(change.id, `${where}: outbox entry id`)
      return
    case 'deleteMeta':
      key(change.key, `${where}: meta key`)
      return
    default:
      throw new TypeError(`${where} has an unknown type ${JSON.stringify((change as { type?: unknown }).type)}`)
  }
}

/** Every field of a record or entry is JSON; `undefined` ones are left out when stored. */
function fields(object: object, name: string): void {
  if (Object.getOwnPropertySymbols(object).length > 0) throw new TypeError(`${name} has a symbol key`)
  for (const [field, value] of Object.entries(object)) {
    if (field === 'data' || value !== undefined) assertJson(value, `${name}: ${field}`)
  }
}

function key(value: unknown, what: string): void {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`)
  if (/[\uD800-\uDFFF]/u.test(value)) throw new TypeError(`${what} ${JSON.stringify(value)} holds a lone surrogate`)
}

function counter(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${what} must be a finite number`)
}
