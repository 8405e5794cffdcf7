import { RoostError, toRoostError } from '../errors.js'
import { uuid } from '../ids.js'
import type { StoreChange } from '../stores/types.js'
import type { LocalRecord, WriteOutcome } from '../types.js'
import { abortBatch, batchOperation, committedRecord, encodeOperation, runBatch, type BatchPlan, type BatchResult, type PlannedOperation } from './batch-upload.js'
import type { EngineContext } from './context.js'
import { handleConflict } from './conflicts.js'
import { decodeCurrent } from './decode.js'
import { classifyWriteError, ResyncNeeded } from './failures.js'
import { pushGroups, groupRecordKeys } from './groups.js'
import { lockTokenOf, pushSingle } from './push-single.js'
import { commit, outboxByRecord, settleApplied } from './settle.js'

const PUSH_BATCH = 'push-batch'
const MAX_BATCH = 5000
const key = (collectionId: string, id: string) => `${collectionId}\u0000${id}`

export interface PushOptions {
  /** From this many records on, one batch carries them instead of one write each. */
  batchThreshold: number
  /** Writes sent at once when pushing one by one. */
  concurrency: number
}

/**
 * Pushes everything that is ahead of what was synced: open groups (each as
 * its own batch), then the other pending records, many as one batch or a few
 * one by one. Returns when the outbox holds nothing more it can send now.
 * Throws a RoostError when the server is out of reach (the loop retries later).
 */
export async function pushAll(ctx: EngineContext, options: PushOptions): Promise<void> {
  await pushGroups(ctx)
  let forceSingle = false
  // A few rounds: conflicts resolved by a policy and writes made meanwhile go again.
  for (let round = 0; round < 10; round++) {
    const resumed = await ctx.store.getMeta<BatchPlan>(PUSH_BATCH)
    if (resumed) {
      if ((await finishBatch(ctx, resumed)) === 'fallback') forceSingle = true
      continue
    }
    const inGroups = await groupRecordKeys(ctx)
    const pending = (await ctx.store.listPendingRecords()).filter((record) => !record.conflict && !inGroups.has(key(record.collectionId, record.id)))
    if (pending.length === 0) return
    // Records with a single write in flight finish it first, exactly as sent.
    const single = pending.filter((record) => forceSingle || record.attempt?.request || pending.length < options.batchThreshold)
    // One batch carries at most MAX_BATCH records (the server's default limit is 10000 operations); the rest go in the next round.
    const batched = pending.filter((record) => !single.includes(record)).slice(0, MAX_BATCH)
    if (batched.length > 0) {
      const plan = await planBatch(ctx, batched)
      if (plan && (await finishBatch(ctx, plan)) === 'fallback') forceSingle = true
    }
    await inParallel(single, options.concurrency, (record) => pushSingle(ctx, record.collectionId, record.id))
  }
}

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0
  let failure: unknown
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]
      try {
        await fn(item)
      } catch (error) {
        failure ??= error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  if (failure !== undefined) throw failure
}

/** Stores the plan and the records' attempts in one local transaction, before anything is sent. */
async function planBatch(ctx: EngineContext, records: LocalRecord[]): Promise<BatchPlan | null> {
  return ctx.store.runExclusive(async () => {
    const entriesOfRecord = outboxByRecord(await ctx.store.listOutbox())
    const plan: BatchPlan = { batchId: uuid(), commitKey: uuid(), items: [], lockTokens: {} }
    const changes: StoreChange[] = []
    const outcomes: WriteOutcome[] = []
    const touched = new Set<string>()
    for (const stale of records) {
      const record = await ctx.store.getRecord(stale.collectionId, stale.id)
      if (!record || record.conflict || record.version <= record.syncedVersion || record.attempt?.request) continue
      const carried = entriesOfRecord(record.collectionId, record.id).filter((entry) => entry.state === 'pending')
      const operation = batchOperation(record, record)
      if (!operation) {
        const settled = settleApplied(record, { localVersion: record.version }, record.base, carried)
        changes.push(...settled.changes)
        outcomes.push(...settled.outcomes)
        touched.add(record.collectionId)
        continue
      }
      const token = lockTokenOf(carried)
      if (token !== null) plan.lockTokens[record.collectionId] = Math.max(token, plan.lockTokens[record.collectionId] ?? 0)
      plan.items.push(await encodeOperation(ctx, { collectionId: record.collectionId, id: record.id, localVersion: record.version, operation }))
      const unconfirmedKeys = record.attempt?.key ? [...(record.unconfirmedKeys ?? []), record.attempt.key].slice(-8) : record.unconfirmedKeys
      changes.push({ type: 'putRecord', record: { ...record, unconfirmedKeys, attempt: { key: plan.commitKey, localVersion: record.version, batchId: plan.batchId } } })
    }
    if (plan.items.length > 0) changes.push({ type: 'putMeta', key: PUSH_BATCH, value: plan })
    await commit(ctx, { changes, outcomes }, [...touched])
    return plan.items.length > 0 ? plan : null
  })
}

/**
 * Runs a planned batch to its end. Committed: every record is synced. A
 * conflict: each conflicting record goes through its policy, the batch is
 * aborted and the rest go again in the next round. A write the server
 * refuses for good somewhere in the batch: 'fallback', and the next round
 * pushes one by one, so that only that write is rejected.
 */
async function finishBatch(ctx: EngineContext, plan: BatchPlan): Promise<'done' | 'fallback'> {
  const total = plan.items.length
  let result: BatchResult
  try {
    result = await runBatch(ctx, plan, (done) => ctx.progress.emit({ phase: 'push', done, total }))
  } catch (caught) {
    const error = toRoostError(caught)
    if (error.code === 401) throw error
    const verdict = classifyWriteError(error, Object.keys(plan.lockTokens).length > 0)
    if (verdict === 'retry' && !(error.code === 429 || error.code === 413)) throw error
    await abortBatch(ctx, plan.batchId)
    await dropPlan(ctx, plan, false)
    return 'fallback'
  }
  if (result.kind === 'committed') {
    const batch = result.batch
    await ctx.store.runExclusive(async () => {
      const entriesOfRecord = outboxByRecord(await ctx.store.listOutbox())
      const changes: StoreChange[] = [{ type: 'deleteMeta', key: PUSH_BATCH }]
      const outcomes: WriteOutcome[] = []
      for (const [index, item] of plan.items.entries()) {
        const record = await ctx.store.getRecord(item.collectionId, item.id)
        if (!record) continue
        const settled = settleApplied(record, item, committedRecord(ctx, batch, plan, index), entriesOfRecord(item.collectionId, item.id))
        changes.push(...settled.changes)
        outcomes.push(...settled.outcomes)
      }
      await commit(ctx, { changes, outcomes }, new Set(plan.items.map((item) => item.collectionId)))
    })
    ctx.progress.emit({ phase: 'push', done: total, total })
    return 'done'
  }
  if (result.kind === 'restart') {
    await dropPlan(ctx, plan, result.uncertain)
    return 'done'
  }
  await abortBatch(ctx, plan.batchId)
  // A record we had a version of is missing: records never vanish, so the collection was deleted (and created again).
  const missing = result.conflicts.filter((conflict) => conflict.reason === 'missing' && plan.items.some((item) => item.collectionId === conflict.collectionId && item.id === conflict.id && 'version' in item.operation))
  if (missing.length > 0) {
    await dropPlan(ctx, plan, false)
    throw new ResyncNeeded(new RoostError(404, 'NotFound', `Record "${missing[0].id}" is missing from the server`), [...new Set(missing.map((conflict) => conflict.collectionId))])
  }
  const conflicted = new Set(result.conflicts.map((conflict) => key(conflict.collectionId, conflict.id)))
  await dropPlan(ctx, plan, false, conflicted)
  for (const conflict of result.conflicts) {
    const item = plan.items.find((candidate) => candidate.collectionId === conflict.collectionId && candidate.id === conflict.id)
    if (item) await handleConflict(ctx, item.collectionId, item.id, { key: plan.commitKey, localVersion: item.localVersion, batchId: plan.batchId }, await decodeCurrent(ctx, conflict.current))
  }
  return 'done'
}

/**
 * Forgets a batch plan: its records are planned afresh. `uncertain`: the
 * batch may have been committed (it is gone), so its key stays recognisable.
 */
async function dropPlan(ctx: EngineContext, plan: BatchPlan, uncertain: boolean, keep = new Set<string>()) {
  await ctx.store.runExclusive(async () => {
    const changes: StoreChange[] = [{ type: 'deleteMeta', key: PUSH_BATCH }]
    for (const item of plan.items as PlannedOperation[]) {
      if (keep.has(key(item.collectionId, item.id))) continue
      const record = await ctx.store.getRecord(item.collectionId, item.id)
      if (!record || record.attempt?.batchId !== plan.batchId) continue
      const unconfirmedKeys = uncertain ? [...(record.unconfirmedKeys ?? []), plan.commitKey].slice(-8) : record.unconfirmedKeys
      changes.push({ type: 'putRecord', record: { ...record, attempt: null, unconfirmedKeys } })
    }
    await ctx.store.write(changes)
  })
}
