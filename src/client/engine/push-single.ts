import { RoostError, toRoostError } from '../errors.js'
import { uuid } from '../ids.js'
import type { Json, LocalRecord, OutboxEntry, PushAttempt, ServerRecord } from '../types.js'
import { decodeCurrent } from './decode.js'
import type { EngineContext } from './context.js'
import { handleConflict } from './conflicts.js'
import { FatalError, ResyncNeeded, classifyWriteError, failureOf } from './failures.js'
import { commit, entriesOf, settleApplied, settleRejected } from './settle.js'

const recordPath = (collectionId: string, id?: string) =>
  `collections/${encodeURIComponent(collectionId)}/records${id === undefined ? '' : `/${encodeURIComponent(id)}`}`

/** The newest lock token among the writes a push carries. */
export const lockTokenOf = (entries: OutboxEntry[]): number | null =>
  entries.reduce<number | null>((token, entry) => (entry.lockToken != null && (token === null || entry.lockToken > token) ? entry.lockToken : token), null)

/**
 * The request that brings the server from `record.base` to the local state,
 * or null when there is nothing to send (created and deleted offline).
 */
export function singleRequest(record: LocalRecord): PushAttempt['request'] {
  const base = record.base
  if (record.deleted) {
    if (!base || base.deleted) return null
    return { method: 'DELETE', path: recordPath(record.collectionId, record.id), query: { version: base.version } }
  }
  if (!base) return { method: 'POST', path: recordPath(record.collectionId), body: { id: record.id, data: record.data } }
  if (base.deleted) return { method: 'POST', path: recordPath(record.collectionId), body: { id: record.id, data: record.data, version: base.version } }
  return { method: 'PUT', path: recordPath(record.collectionId, record.id), body: { data: record.data, version: base.version } }
}

/**
 * Pushes one record with one REST write. The attempt (request and key) is
 * stored on the record before it is sent, and sent again exactly after a
 * lost answer, so the server replays its first answer instead of applying
 * it twice.
 */
export async function pushSingle(ctx: EngineContext, collectionId: string, id: string): Promise<void> {
  const attempt = await ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record || record.conflict || record.version <= record.syncedVersion) return null
    if (record.attempt?.request) return record.attempt
    const outbox = await ctx.store.listOutbox()
    const carried = entriesOf(outbox, collectionId, id).filter((entry) => entry.state === 'pending' && entry.localVersion <= record.version)
    const request = await encodeRequest(ctx, record, singleRequest(record))
    const attempt: PushAttempt = {
      // The newest write this push carries names it: its id is its key.
      key: carried.at(-1)?.id ?? uuid(),
      localVersion: record.version,
      batchId: null,
      request: request ? { ...request, lockToken: lockTokenOf(carried) } : null
    }
    if (!request) {
      // Nothing to tell the server: the writes are done.
      await commit(ctx, settleApplied(record, attempt, record.base, outbox), [collectionId])
      return null
    }
    // A batch attempt whose fate is unknown must still be recognisable.
    const unconfirmedKeys = record.attempt?.key ? [...(record.unconfirmedKeys ?? []), record.attempt.key].slice(-8) : record.unconfirmedKeys
    await ctx.store.write([{ type: 'putRecord', record: { ...record, attempt, unconfirmedKeys } }])
    return attempt
  })
  if (!attempt?.request) return
  const request = attempt.request
  let answer: ServerRecord
  try {
    answer = await ctx.rest.call<ServerRecord>({
      method: request.method,
      path: request.path,
      query: request.query,
      body: request.body,
      headers: { 'Idempotency-Key': attempt.key, ...(request.lockToken != null ? { 'Lock-Token': String(request.lockToken) } : {}) }
    })
  } catch (caught) {
    const error = toRoostError(caught)
    if (error.code === 409) {
      const current = ((error.data as { current?: ServerRecord | null } | undefined)?.current ?? null) as ServerRecord | null
      return handleConflict(ctx, collectionId, id, attempt, await decodeCurrent(ctx, current))
    }
    if (error.code === 401) throw error
    const verdict = classifyWriteError(error, request.lockToken != null)
    if (verdict === 'retry') throw error
    if (verdict === 'fatal') throw error.code === 404 ? new ResyncNeeded(error, [collectionId]) : new FatalError(error, collectionId)
    return reject(ctx, collectionId, id, error)
  }
  const applied = await decodeCurrent(ctx, answer)
  await ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record) return
    await commit(ctx, settleApplied(record, attempt, applied, await ctx.store.listOutbox()), [collectionId])
  })
}

/** The request with its data as the wire carries it (an envelope in an encrypted collection). */
async function encodeRequest(ctx: EngineContext, record: LocalRecord, request: PushAttempt['request']): Promise<PushAttempt['request']> {
  const body = request?.body as { data?: Json } | undefined
  if (!request || !body || !('data' in body)) return request
  return { ...request, body: { ...body, data: await ctx.codec.encode(record.collectionId, record.id, body.data ?? null) } }
}

export async function reject(ctx: EngineContext, collectionId: string, id: string, error: RoostError) {
  await ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record) return
    await commit(ctx, settleRejected(record, failureOf(error), await ctx.store.listOutbox()), [collectionId])
  })
}
