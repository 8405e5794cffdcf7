import { jsonBytes } from '../json-text.js'
import { StorageError, type RecordConflict } from '../errors.js'
import type { JsonValue, RecordWrite, StoredRecord, WriteContext } from '../types.js'

export type PlannedWrite = { ok: true; next: Omit<StoredRecord, 'seq'> } | { ok: false; conflict: RecordConflict }

const isPlainObject = (value: JsonValue): value is { [key: string]: JsonValue } =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * The versioning rules, shared by every backend: given the current state of a
 * record (or undefined) and a write, decide the record's next state or why the
 * write conflicts. Backends call this inside their transaction, after reading
 * the current rows, so the check and the write see the same state.
 */
// Module-level rather than closures in planWrite: it runs once per record of
// every write, and the TypeScript loader wraps each closure it creates.
function conflictWith(current: StoredRecord | undefined, write: RecordWrite, reason: RecordConflict['reason']): PlannedWrite {
  return { ok: false, conflict: { collectionId: write.collectionId, id: write.id, reason, current: current ?? null } }
}

function nextState(write: RecordWrite, context: WriteContext, version: number, data: JsonValue, deleted: boolean): PlannedWrite {
  return {
    ok: true,
    next: {
      collectionId: write.collectionId,
      id: write.id,
      version,
      data: deleted ? null : data,
      deleted,
      updatedAt: context.at,
      updatedBy: context.actor,
      ...keyOf(context)
    }
  }
}

/**
 * The `idempotencyKey` field of every version a write makes: the call's key,
 * or no field at all (a keyless write clears the previous version's key).
 */
export function keyOf(context: WriteContext): Pick<StoredRecord, 'idempotencyKey'> {
  return context.idempotencyKey === undefined ? {} : { idempotencyKey: context.idempotencyKey }
}

export function planWrite(current: StoredRecord | undefined, write: RecordWrite, context: WriteContext): PlannedWrite {
  if (write.op === 'put') {
    if (write.baseVersion === null) return planWrite(current, { ...write, op: 'create', baseVersion: undefined }, context)
    if (current?.deleted) return planWrite(current, { ...write, op: 'create', baseVersion: write.baseVersion }, context)
    return planWrite(current, { ...write, op: 'update', baseVersion: write.baseVersion }, context)
  }

  if (write.op === 'create') {
    if (current === undefined) return nextState(write, context, 1, write.data, false)
    if (!current.deleted) return conflictWith(current, write, 'exists')
    // Re-creating over a tombstone is a versioned write on the tombstone.
    if (write.baseVersion !== current.version) return conflictWith(current, write, 'version-mismatch')
    return nextState(write, context, current.version + 1, write.data, false)
  }

  if (current === undefined) return conflictWith(current, write, 'missing')
  if (current.deleted) return conflictWith(current, write, 'deleted')
  if (write.baseVersion !== current.version) return conflictWith(current, write, 'version-mismatch')

  switch (write.op) {
    case 'update':
      return nextState(write, context, current.version + 1, write.data, false)
    case 'patch': {
      // Shallow merge into object data; any other current data is replaced.
      const base = isPlainObject(current.data) ? current.data : {}
      const merged = { ...base, ...write.data }
      const bytes = jsonBytes(merged)
      if (context.maxDataBytes !== undefined && bytes > context.maxDataBytes) {
        throw new StorageError('too-large', `Record ${write.id} would be ${bytes} bytes after this patch; the limit is ${context.maxDataBytes}`)
      }
      return nextState(write, context, current.version + 1, merged, false)
    }
    case 'delete':
      return nextState(write, context, current.version + 1, null, true)
  }
}
