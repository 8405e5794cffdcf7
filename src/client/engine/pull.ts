import type { ChangesPageResult } from '../../services/changes/changes.shared.js'
import { RoostError, toRoostError } from '../errors.js'
import type { StoreChange } from '../stores/types.js'
import type { LocalRecord, ServerChange, ServerRecord } from '../types.js'
import type { EngineContext } from './context.js'
import { FatalError } from './failures.js'
import { fromServer } from './settle.js'
import { decodeRecords } from './decode.js'

/** Where the pull of one collection stands: the feed's cursor and the `seq` of the newest change applied. */
export interface FeedPosition {
  cursor: string | null
  last: number
}

export const cursorKey = (collectionId: string) => `cursor:${collectionId}`

/**
 * What a server record does to the local one; null: nothing. A record with
 * local changes (pending, or a conflict waiting for the app) is never
 * overwritten: its push meets the server's version and the policy decides.
 * Otherwise the higher version wins (a pull may bring what we have already).
 */
function mergeServerRecord(local: LocalRecord | undefined, server: ServerRecord): LocalRecord | null {
  if (!local) {
    return { collectionId: server.collectionId, id: server.id, ...fromServer(server), version: 0, syncedVersion: 0, base: server }
  }
  if (local.conflict) {
    const known = local.conflict.server
    return !known || server.version > known.version ? { ...local, conflict: { ...local.conflict, server } } : null
  }
  if (local.version > local.syncedVersion) return null
  if (local.base && server.version <= local.base.version) return null
  return { ...local, ...fromServer(server), base: server }
}

/** Applies server records and the new position in one local transaction. */
async function applyServerRecords(
  ctx: EngineContext,
  collectionId: string,
  /** Decoded (decrypted) records; null where one failed to decrypt. */
  decoded: Array<ServerRecord | null>,
  records: ServerRecord[],
  position: FeedPosition
): Promise<number | null> {
  const applied = await ctx.store.runExclusive(async () => {
    // Forgotten while this page was on its way: nothing of it may come back.
    if (ctx.forgotten(collectionId)) return null
    const changes: StoreChange[] = []
    const locals = await ctx.store.getRecords(collectionId, records.map((server) => server.id))
    for (const [index, server] of decoded.entries()) {
      const local = locals[index]
      if (server === null) {
        // Tampered (reported): not shown. A synced copy goes; local changes stay, and their push meets the server.
        if (local && local.version <= local.syncedVersion && !local.conflict) changes.push({ type: 'deleteRecord', collectionId, id: local.id })
        continue
      }
      const next = mergeServerRecord(local, server)
      if (next) changes.push({ type: 'putRecord', record: next })
    }
    const stored = (await ctx.store.getMeta<FeedPosition>(cursorKey(collectionId))) ?? { cursor: null, last: 0 }
    // An event may have moved further meanwhile: never move the position back.
    if (position.last >= stored.last) changes.push({ type: 'putMeta', key: cursorKey(collectionId), value: position })
    await ctx.store.write(changes)
    if (changes.length > 1 || records.length > 0) ctx.changed([collectionId])
    // Changes past what an earlier pull applied (two pulls of one collection may carry the same changes), failed decryptions aside.
    const heard: ServerChange[] = []
    for (const [index, server] of decoded.entries()) {
      const record = records[index]
      if (server === null || record.seq <= stored.last) continue
      heard.push({ collectionId, id: record.id, version: record.version, deleted: record.deleted, seq: record.seq, updatedAt: record.updatedAt, updatedBy: record.updatedBy })
    }
    return { count: changes.length, heard }
  })
  if (applied === null) return null
  if (applied.heard.length > 0) ctx.serverChanges(applied.heard)
  return applied.count
}

export interface PullOptions {
  pageSize: number
  /** Create the collection when it does not exist yet (and we never pulled it). */
  create: boolean
}

/**
 * Pulls one collection until `more` is false. Each page's records and the
 * cursor land in one local transaction, so an interrupted first sync
 * resumes from its last page. A 410 (the collection was deleted and created
 * again) drops the replica but keeps every pending write, and starts over
 * (`reset`: it did).
 */
export async function pullCollection(ctx: EngineContext, collectionId: string, options: PullOptions): Promise<{ reset: boolean }> {
  let reset = false
  let position = (await ctx.store.getMeta<FeedPosition>(cursorKey(collectionId))) ?? { cursor: null, last: 0 }
  let done = 0
  // A first download: how many records to expect, for "120 of 300" (live records; tombstones come on top).
  let total: number | null = null
  if (position.cursor === null) {
    total = await ctx.rest
      .call<{ total: number }>({ method: 'GET', path: `collections/${encodeURIComponent(collectionId)}/records`, query: { $limit: 0 } })
      .then((answer) => answer.total, () => null)
  }
  for (let page = 0; ; page++) {
    let answer: ChangesPageResult
    try {
      answer = await ctx.rest.call<ChangesPageResult>({
        method: 'GET',
        path: `collections/${encodeURIComponent(collectionId)}/changes`,
        query: { since: position.cursor ?? undefined, limit: options.pageSize }
      })
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code === 410) {
        position = await dropReplica(ctx, collectionId)
        reset = true
        continue
      }
      if (error.code === 404 && position.cursor === null && options.create && page === 0) {
        await createCollection(ctx, collectionId)
        continue
      }
      if (error.code === 404 || error.code === 403) throw new FatalError(error, collectionId)
      throw error
    }
    const changes = answer.changes as ServerRecord[]
    position = { cursor: answer.cursor, last: changes.length > 0 ? changes[changes.length - 1].seq : position.last }
    // Decrypted before anything is applied: a missing key throws here, and the page is pulled again later.
    const decoded = await decodeRecords(ctx, changes)
    if ((await applyServerRecords(ctx, collectionId, decoded, changes, position)) === null) return { reset }
    done += changes.length
    if (changes.length > 0 || answer.more) ctx.progress.emit({ phase: 'pull', collectionId, done, total: total === null ? null : Math.max(total, done) })
    if (!answer.more) return { reset }
  }
}

async function createCollection(ctx: EngineContext, collectionId: string) {
  try {
    await ctx.rest.call({ method: 'POST', path: 'collections', body: { id: collectionId } })
  } catch (caught) {
    const error = toRoostError(caught)
    if (error.code !== 409) throw error
    // Taken: by us from another device meanwhile (then we can read it), or by someone else.
    try {
      await ctx.rest.call({ method: 'GET', path: `collections/${encodeURIComponent(collectionId)}` })
    } catch {
      throw new FatalError(new RoostError(409, 'Conflict', `The collection id "${collectionId}" is taken by someone else`), collectionId)
    }
  }
}

/** The collection was deleted and created again: our copy is of the old one. Pending writes stay, as new writes. */
async function dropReplica(ctx: EngineContext, collectionId: string): Promise<FeedPosition> {
  const fresh: FeedPosition = { cursor: null, last: 0 }
  await ctx.store.runExclusive(async () => {
    const changes: StoreChange[] = []
    for (const record of await ctx.store.listRecords(collectionId)) {
      if (record.version > record.syncedVersion || record.conflict) {
        changes.push({ type: 'putRecord', record: { ...record, base: null, attempt: null, conflict: null } })
      } else {
        changes.push({ type: 'deleteRecord', collectionId, id: record.id })
      }
    }
    changes.push({ type: 'putMeta', key: cursorKey(collectionId), value: fresh })
    await ctx.store.write(changes)
  })
  ctx.changed([collectionId])
  return fresh
}
