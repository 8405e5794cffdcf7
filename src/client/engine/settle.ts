import type { StoreChange } from '../stores/types.js'
import type { ConflictResolution, LocalRecord, OutboxEntry, PushAttempt, ServerRecord, WriteFailure, WriteOutcome } from '../types.js'
import type { EngineContext } from './context.js'

/** The local record's view of a server record. */
export const fromServer = (server: ServerRecord): Pick<LocalRecord, 'data' | 'deleted'> => ({
  data: server.deleted ? null : (server.data as LocalRecord['data']),
  deleted: server.deleted
})

/** The outbox grouped by record, for steps that settle many records at once. */
export function outboxByRecord(outbox: OutboxEntry[]): (collectionId: string, id: string) => OutboxEntry[] {
  const byRecord = new Map<string, OutboxEntry[]>()
  for (const entry of outbox) {
    const k = `${entry.collectionId}\u0000${entry.recordId}`
    const list = byRecord.get(k)
    if (list) list.push(entry)
    else byRecord.set(k, [entry])
  }
  return (collectionId, id) => byRecord.get(`${collectionId}\u0000${id}`) ?? []
}

/** Outbox entries of one record, in order. */
export const entriesOf = (outbox: OutboxEntry[], collectionId: string, id: string) =>
  outbox.filter((entry) => entry.collectionId === collectionId && entry.recordId === id)

/**
 * A push reached the server (or is known to have): the record is synced up
 * to the attempt's local version, and every write it carried is applied.
 * Writes made meanwhile stay pending.
 */
export function settleApplied(
  record: LocalRecord,
  attempt: Pick<PushAttempt, 'localVersion'>,
  server: ServerRecord | null,
  outbox: OutboxEntry[]
): { changes: StoreChange[]; outcomes: WriteOutcome[] } {
  const syncedVersion = Math.max(record.syncedVersion, attempt.localVersion)
  const stillPending = record.version > syncedVersion
  const next: LocalRecord = {
    ...record,
    syncedVersion,
    base: server ?? record.base,
    attempt: null,
    unconfirmedKeys: [],
    // Nothing newer locally: take the server's state (a merge on the server, its timestamps).
    ...(!stillPending && server ? fromServer(server) : {}),
    pendingSince: stillPending ? record.pendingSince : null
  }
  const done = entriesOf(outbox, record.collectionId, record.id).filter((entry) => entry.localVersion <= attempt.localVersion && entry.state === 'pending')
  const changes: StoreChange[] = [{ type: 'putRecord', record: next }, ...done.map((entry) => ({ type: 'deleteOutbox' as const, id: entry.id }))]
  const outcomes = done.map((entry): WriteOutcome => ({ writeId: entry.id, collectionId: entry.collectionId, recordId: entry.recordId, status: 'applied', record: server }))
  return { changes, outcomes }
}

/**
 * A conflict that ended for the writes up to `upTo` (manual: parked for the
 * app; server-wins: the server's record replaces ours). Later writes of
 * the record stay pending (manual) or go too (server-wins: they were built
 * on the losing state).
 */
export function settleConflict(
  record: LocalRecord,
  upTo: number,
  server: ServerRecord | null,
  resolution: Extract<ConflictResolution, 'manual' | 'server-wins'>,
  outbox: OutboxEntry[],
  now: string
): { changes: StoreChange[]; outcomes: WriteOutcome[] } {
  const mine = entriesOf(outbox, record.collectionId, record.id).filter((entry) => entry.state === 'pending')
  const ended = resolution === 'server-wins' ? mine : mine.filter((entry) => entry.localVersion <= upTo)
  let next: LocalRecord | null
  if (resolution === 'manual') {
    next = { ...record, attempt: null, conflict: { server, at: now } }
  } else if (server) {
    next = { ...record, ...fromServer(server), base: server, syncedVersion: record.version, attempt: null, conflict: null, pendingSince: null, unconfirmedKeys: [] }
  } else {
    next = null // the server has no such record and it wins: ours goes too
  }
  const changes: StoreChange[] = [
    next ? { type: 'putRecord', record: next } : { type: 'deleteRecord', collectionId: record.collectionId, id: record.id },
    ...ended.map((entry) => ({ type: 'deleteOutbox' as const, id: entry.id }))
  ]
  const outcomes = ended.map(
    (entry): WriteOutcome => ({ writeId: entry.id, collectionId: entry.collectionId, recordId: entry.recordId, status: 'conflict', resolution, server })
  )
  return { changes, outcomes }
}

/**
 * Refused for good (400, 403, 413, a lost lock…): the record goes back to
 * the server's state, and its writes are parked as rejected, with the
 * reason, until the app dismisses them. Other records' writes go on.
 */
export function settleRejected(record: LocalRecord, error: WriteFailure, outbox: OutboxEntry[]): { changes: StoreChange[]; outcomes: WriteOutcome[] } {
  const mine = entriesOf(outbox, record.collectionId, record.id).filter((entry) => entry.state === 'pending')
  const base = record.base
  const changes: StoreChange[] = [
    base
      ? { type: 'putRecord', record: { ...record, ...fromServer(base), syncedVersion: record.version, attempt: null, pendingSince: null, unconfirmedKeys: [] } }
      : { type: 'deleteRecord', collectionId: record.collectionId, id: record.id },
    ...mine.map((entry) => ({ type: 'putOutbox' as const, entry: { ...entry, state: 'rejected' as const, reason: error } }))
  ]
  const outcomes = mine.map((entry): WriteOutcome => ({ writeId: entry.id, collectionId: entry.collectionId, recordId: entry.recordId, status: 'rejected', error }))
  return { changes, outcomes }
}

/** Writes the changes and announces the outcomes and the collections touched. */
export async function commit(ctx: EngineContext, result: { changes: StoreChange[]; outcomes: WriteOutcome[] }, collectionIds: Iterable<string>) {
  await ctx.store.write(result.changes)
  ctx.changed(collectionIds)
  for (const outcome of result.outcomes) ctx.outcomes.emit(outcome)
}
