import type { JsonValue, RecordWrite, StagedOperation, WriteContext } from '../../../src/storage/types.js'

/**
 * Builders and small helpers shared by the suite's concerns, so tests read
 * as a list of operations.
 */

const T0 = Date.UTC(2026, 0, 1)

/** A fixed instant, `seconds` after the suite's epoch: for tests that reason about expiry. */
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString()

/** Strictly increasing ISO timestamps, so `updatedAt` values are distinct and predictable. */
let tick = 0
export const now = (): string => new Date(T0 + ++tick * 1000).toISOString()

export const context = (actor: string | null, extra: Partial<WriteContext> = {}): WriteContext => ({ actor, at: now(), ...extra })

export const create = (collectionId: string, id: string, data: JsonValue, baseVersion?: number): RecordWrite =>
  baseVersion === undefined ? { op: 'create', collectionId, id, data } : { op: 'create', collectionId, id, data, baseVersion }
export const update = (collectionId: string, id: string, data: JsonValue, baseVersion: number): RecordWrite => ({
  op: 'update',
  collectionId,
  id,
  data,
  baseVersion
})
export const patch = (collectionId: string, id: string, data: { [key: string]: JsonValue }, baseVersion: number): RecordWrite => ({
  op: 'patch',
  collectionId,
  id,
  data,
  baseVersion
})
export const remove = (collectionId: string, id: string, baseVersion: number): RecordWrite => ({ op: 'delete', collectionId, id, baseVersion })

/** A staged put, as a batch holds it. */
export const put = (collectionId: string, id: string, data: unknown, baseVersion: number | null = null): StagedOperation => ({
  op: 'put',
  collectionId,
  id,
  data: data as JsonValue,
  baseVersion
})

/** Codepoint order with null first: the order every backend sorts by. */
export const compareValues = (a: string | number | null, b: string | number | null): number =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1

export const byId = (a: { id: string }, b: { id: string }): number => compareValues(a.id, b.id)
export const ids = (items: Array<{ id: string }>): string[] => items.map((item) => item.id)
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Unique ids within one run: `${prefix}-1`, `${prefix}-2`, … */
let counter = 0
export const fresh = (prefix: string): string => `${prefix}-${++counter}`
