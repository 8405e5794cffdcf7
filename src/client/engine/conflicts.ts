import { ClientInputError } from '../errors.js'
import { assertRecordData, jsonEqual } from '../json.js'
import type { LocalRecord, MergeResult, PushAttempt, ServerRecord } from '../types.js'
import type { EngineContext } from './context.js'
import { commit, settleApplied, settleConflict } from './settle.js'

/** Was this server record written by one of our own attempts (its answer lost)? */
export const isOwnWrite = (record: LocalRecord, attempt: Pick<PushAttempt, 'key'>, current: ServerRecord | null): boolean =>
  !!current?.idempotencyKey && (current.idempotencyKey === attempt.key || (record.unconfirmedKeys ?? []).includes(current.idempotencyKey))

/**
 * A push of `attempt` met a 409: the server holds `current` (null: no such
 * record). Our own write, recognised by its key, counts as applied; anything
 * else goes through the collection's conflict policy.
 */
export async function handleConflict(ctx: EngineContext, collectionId: string, id: string, attempt: PushAttempt, current: ServerRecord | null): Promise<void> {
  const before = await ctx.store.getRecord(collectionId, id)
  if (before && !isOwnWrite(before, attempt, current) && sameContent(before.base, current)) return rebase(ctx, collectionId, id, current!)
  const policy = ctx.policy(collectionId)
  let merged: { result: MergeResult; version: number } | undefined
  if (typeof policy === 'function') {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record || isOwnWrite(record, attempt, current)) return applyDecision(ctx, collectionId, id, attempt, current, undefined)
    try {
      const result = await policy({ collectionId, id, local: record.data, localDeleted: record.deleted, server: current, base: record.base })
      if (!result || (!('deleted' in result) && !('data' in result))) throw new ClientInputError(`The merge function of "${collectionId}" returned neither { data } nor { deleted: true }`)
      if ('data' in result) assertRecordData(result.data, `The merged data of ${collectionId}/${id}`)
      merged = { result, version: record.version }
    } catch {
      // A merge function that fails (throws, or returns what cannot be stored) leaves the conflict to the app,
      // as the manual policy does: nothing is lost, and retrying would only fail the same way.
      return applyDecision(ctx, collectionId, id, attempt, current, undefined, 'manual')
    }
  }
  return applyDecision(ctx, collectionId, id, attempt, current, merged)
}

/**
 * The server's newer version holds what our base held: a change that
 * changed nothing we can see (an encrypted record re-encrypted under a new
 * key epoch, a write of the same data). Not a conflict: push again on top of it.
 */
export const sameContent = (base: ServerRecord | null, current: ServerRecord | null): boolean =>
  base !== null && current !== null && base.deleted === current.deleted && current.version > base.version && jsonEqual(base.data, current.data)

async function rebase(ctx: EngineContext, collectionId: string, id: string, current: ServerRecord) {
  await ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record) return
    await commit(ctx, { changes: [{ type: 'putRecord', record: { ...record, base: current, attempt: null, unconfirmedKeys: [] } }], outcomes: [] }, [collectionId])
  })
}

async function applyDecision(
  ctx: EngineContext,
  collectionId: string,
  id: string,
  attempt: PushAttempt,
  current: ServerRecord | null,
  merged: { result: MergeResult; version: number } | undefined,
  override?: 'manual'
) {
  const policy = override ?? ctx.policy(collectionId)
  await ctx.store.runExclusive(async () => {
    const record = await ctx.store.getRecord(collectionId, id)
    if (!record) return
    const outbox = await ctx.store.listOutbox()
    if (isOwnWrite(record, attempt, current)) return commit(ctx, settleApplied(record, attempt, current, outbox), [collectionId])
    if (policy === 'manual' || policy === 'server-wins') {
      return commit(ctx, settleConflict(record, attempt.localVersion, current, policy, outbox, ctx.now()), [collectionId])
    }
    // client-wins and merges: push again on top of the server's version.
    let next: LocalRecord = { ...record, base: current, attempt: null, unconfirmedKeys: [] }
    if (merged) {
      // A local write during the merge: keep it and merge again at the next push.
      if (record.version !== merged.version) next = { ...record, attempt: null }
      else if ('deleted' in merged.result) next = { ...next, data: null, deleted: true, version: record.version + 1 }
      else next = { ...next, data: merged.result.data, deleted: false, version: record.version + 1 }
    }
    await commit(ctx, { changes: [{ type: 'putRecord', record: next }], outcomes: [] }, [collectionId])
  })
}
