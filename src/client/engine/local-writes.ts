import { ClientInputError } from '../errors.js'
import { assertId, uuid } from '../ids.js'
import { assertRecordData } from '../json.js'
import type { StoreChange } from '../stores/types.js'
import type { Json, LocalRecord, OutboxEntry, WriteOp, WriteOutcome } from '../types.js'
import type { EngineContext } from './context.js'
import { groupKey, type GroupItem, type GroupMeta } from './groups.js'

const ORDER = 'order'

/** One write asked for by the app. */
export interface WriteRequest {
  collectionId: string
  id: string
  op: WriteOp
  /** put: the whole data; patch: the top-level fields to set; delete: unused. */
  data?: unknown
}

/** What a local write answers at once: its id (await its outcome with `awaitWrite`) and the record's local version. */
export interface WriteReceipt {
  writeId: string
  collectionId: string
  id: string
  version: number
}

const isPlainObject = (value: unknown): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Checks a write before anything is stored: bad input fails here, at once, offline too. */
export function checkWrite(request: WriteRequest): void {
  assertId(request.collectionId, 'The collection id')
  assertId(request.id, 'The record id')
  if (request.op === 'put') {
    if (request.data === undefined) throw new ClientInputError(`put ${request.collectionId}/${request.id}: data is required (use null for "no value")`)
    assertRecordData(request.data, `The data of ${request.collectionId}/${request.id}`)
  } else if (request.op === 'patch') {
    if (!isPlainObject(request.data)) throw new ClientInputError(`patch ${request.collectionId}/${request.id}: the fields to set must be an object`)
    assertRecordData(request.data, `The fields of ${request.collectionId}/${request.id}`)
  }
}

/** The record after one write: the whole data (a patch merges its fields, as the server does). */
function nextState(current: LocalRecord | undefined, request: WriteRequest): { data: Json; deleted: boolean } {
  if (request.op === 'delete') {
    if (!current || current.deleted) throw new ClientInputError(`delete ${request.collectionId}/${request.id}: there is no such record here`)
    return { data: null, deleted: true }
  }
  if (request.op === 'patch') {
    const base = current && !current.deleted && isPlainObject(current.data) ? current.data : {}
    return { data: { ...base, ...(request.data as Record<string, Json>) }, deleted: false }
  }
  return { data: request.data as Json, deleted: false }
}

/**
 * Applies writes locally, each as an outbox entry stored in the same local
 * transaction as the optimistic record: once this returns, the writes are
 * safe, online or not. With `groupId`, they form a group that is uploaded
 * as one batch.
 */
export async function writeLocally(ctx: EngineContext, requests: WriteRequest[], options: { groupId?: string; lockToken?: (collectionId: string) => number | null } = {}): Promise<WriteReceipt[]> {
  for (const request of requests) checkWrite(request)
  return ctx.store.runExclusive(async () => {
    const now = ctx.now()
    let order = ((await ctx.store.getMeta<number>(ORDER)) ?? 0) + 1
    const records = new Map<string, LocalRecord | undefined>()
    const changes: StoreChange[] = []
    const receipts: WriteReceipt[] = []
    const items = new Map<string, GroupItem>()
    for (const request of requests) {
      const k = `${request.collectionId}\u0000${request.id}`
      const current = records.has(k) ? records.get(k) : await ctx.store.getRecord(request.collectionId, request.id)
      const state = nextState(current, request)
      const version = (current?.version ?? 0) + 1
      const record: LocalRecord = current
        ? { ...current, ...state, version, pendingSince: current.version > current.syncedVersion ? current.pendingSince : now }
        : { collectionId: request.collectionId, id: request.id, ...state, version, syncedVersion: 0, base: null, pendingSince: now }
      records.set(k, record)
      const entry: OutboxEntry = {
        id: uuid(),
        order: order++,
        collectionId: request.collectionId,
        recordId: request.id,
        op: request.op,
        data: state.data,
        localVersion: version,
        groupId: options.groupId ?? null,
        lockToken: options.lockToken?.(request.collectionId) ?? null,
        createdAt: now,
        state: 'pending'
      }
      changes.push({ type: 'putOutbox', entry })
      if (options.groupId) items.set(k, { collectionId: request.collectionId, id: request.id, localVersion: version, ...state })
      receipts.push({ writeId: entry.id, collectionId: request.collectionId, id: request.id, version })
    }
    for (const record of records.values()) if (record) changes.push({ type: 'putRecord', record })
    changes.push({ type: 'putMeta', key: ORDER, value: order })
    if (options.groupId) {
      const group: GroupMeta = { id: options.groupId, order, createdAt: now, state: 'pending', items: [...items.values()], plan: null }
      changes.push({ type: 'putMeta', key: groupKey(options.groupId), value: group })
    }
    await ctx.store.write(changes)
    ctx.changed(new Set(requests.map((request) => request.collectionId)))
    return receipts
  })
}

export type Resolution = 'server' | 'local' | { data: unknown } | { deleted: true }

/**
 * The app's answer to a conflict kept for it (manual policy): keep the
 * server's record, keep ours, or give new data. Ours or new data becomes a
 * new write on top of the server's version.
 */
export async function resolveConflict(ctx: EngineContext, collectionId: string, id: string, resolution: Resolution): Promise<WriteReceipt | null> {
  assertId(collectionId, 'The collection id')
  assertId(id, 'The record id')
  const isObject = typeof resolution === 'object' && resolution !== null && !Array.isArray(resolution)
  const valid = resolution === 'server' || resolution === 'local' || (isObject && ('data' in resolution || (resolution as { deleted?: unknown }).deleted === true))
  if (!valid) throw new ClientInputError(`resolve ${collectionId}/${id}: the resolution must be 'local', 'server', { data } or { deleted: true }`)
  if (typeof resolution === 'object' && 'data' in resolution) assertRecordData(resolution.data, `The data of ${collectionId}/${id}`)
  return ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record?.conflict) throw new ClientInputError(`${collectionId}/${id} has no conflict to resolve`)
    const server = record.conflict.server
    const now = ctx.now()
    const groups = (await ctx.store.listMeta<GroupMeta>('group:')).map(([, group]) => group)
    const group = groups.find((candidate) => candidate.state === 'conflict' && candidate.items.some((item) => item.collectionId === collectionId && item.id === id))
    const changes: StoreChange[] = []
    let receipt: WriteReceipt | null = null
    const dropped: WriteOutcome[] = []
    let next: LocalRecord
    if (resolution === 'server') {
      const state = server ? { data: server.deleted ? null : (server.data as Json), deleted: server.deleted } : { data: null, deleted: true }
      // Every write of ours to it is dropped with the conflict, and ends as resolved in the server's favour.
      for (const entry of await ctx.store.listOutbox()) {
        if (entry.collectionId === collectionId && entry.recordId === id && entry.state === 'pending') {
          changes.push({ type: 'deleteOutbox', id: entry.id })
          dropped.push({ writeId: entry.id, collectionId, recordId: id, status: 'conflict', resolution: 'resolved', server })
        }
      }
      next = { ...record, ...state, base: server, syncedVersion: record.version + 1, version: record.version + 1, conflict: null, pendingSince: null }
    } else {
      const state =
        resolution === 'local'
          ? { data: record.data, deleted: record.deleted }
          : 'deleted' in resolution
            ? { data: null, deleted: true }
            : { data: resolution.data as Json, deleted: false }
      const version = record.version + 1
      next = { ...record, ...state, base: server, version, conflict: null, pendingSince: record.pendingSince ?? now }
      const order = ((await ctx.store.getMeta<number>(ORDER)) ?? 0) + 1
      const entry: OutboxEntry = {
        id: uuid(),
        order,
        collectionId,
        recordId: id,
        op: state.deleted ? 'delete' : 'put',
        data: state.data,
        localVersion: version,
        groupId: group?.id ?? null,
        createdAt: now,
        state: 'pending'
      }
      changes.push({ type: 'putOutbox', entry }, { type: 'putMeta', key: ORDER, value: order })
      receipt = { writeId: entry.id, collectionId, id, version }
    }
    changes.push({ type: 'putRecord', record: next })
    if (group) {
      const items = group.items.map((item) => (item.collectionId === collectionId && item.id === id ? { ...item, localVersion: next.version, data: next.data, deleted: next.deleted } : item))
      let open = false
      for (const item of items) {
        if (item.collectionId === collectionId && item.id === id) continue
        if ((await ctx.store.getRecord(item.collectionId, item.id))?.conflict) open = true
      }
      changes.push({ type: 'putMeta', key: groupKey(group.id), value: { ...group, items, state: open ? 'conflict' : 'pending', plan: null } })
    }
    await ctx.store.write(changes)
    ctx.changed([collectionId])
    for (const outcome of dropped) ctx.outcomes.emit(outcome)
    return receipt
  })
}
