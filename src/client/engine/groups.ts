import { RoostError, toRoostError } from '../errors.js'
import { uuid } from '../ids.js'
import type { StoreChange } from '../stores/types.js'
import type { Json, LocalRecord, ServerRecord, WriteOutcome } from '../types.js'
import { abortBatch, batchOperation, committedRecord, encodeOperation, runBatch, type BatchConflict, type BatchPlan } from './batch-upload.js'
import type { EngineContext } from './context.js'
import { isOwnWrite, sameContent } from './conflicts.js'
import { decodeCurrent } from './decode.js'
import { FatalError, ResyncNeeded, classifyWriteError, failureOf } from './failures.js'
import { lockTokenOf } from './push-single.js'
import { commit, entriesOf, settleApplied, settleConflict, settleRejected } from './settle.js'

export const GROUP_PREFIX = 'group:'

/** One record of a group: its state as the group left it. */
export interface GroupItem {
  collectionId: string
  id: string
  localVersion: number
  data: Json
  deleted: boolean
}

/** A group of writes that land together, persisted with its writes. */
export interface GroupMeta {
  id: string
  order: number
  createdAt: string
  /** conflict: waiting for the app to resolve its records (manual policy). */
  state: 'pending' | 'conflict'
  items: GroupItem[]
  /** Set once its upload started: the same batch is resumed after a crash. */
  plan: BatchPlan | null
}

const key = (collectionId: string, id: string) => `${collectionId}\u0000${id}`
export const groupKey = (groupId: string) => `${GROUP_PREFIX}${groupId}`

/** Records that belong to an unfinished group: only the group pushes them. */
export async function groupRecordKeys(ctx: EngineContext): Promise<Set<string>> {
  const groups = await ctx.store.listMeta<GroupMeta>(GROUP_PREFIX)
  return new Set(groups.flatMap(([, group]) => group.items.map((item) => key(item.collectionId, item.id))))
}

export async function listGroups(ctx: EngineContext): Promise<GroupMeta[]> {
  return (await ctx.store.listMeta<GroupMeta>(GROUP_PREFIX)).map(([, group]) => group).sort((a, b) => a.order - b.order)
}

/** Pushes every pending group, oldest first, each as one batch: all of it lands, or none. */
export async function pushGroups(ctx: EngineContext): Promise<void> {
  for (const group of await listGroups(ctx)) {
    if (group.state !== 'pending') continue
    // A few tries: a conflict resolved by a policy commits on the next.
    for (let attempt = 0; attempt < 5; attempt++) if ((await pushGroup(ctx, group.id)) === 'done') break
  }
}

async function planGroup(ctx: EngineContext, groupId: string): Promise<{ group: GroupMeta; plan: BatchPlan } | null> {
  return ctx.store.runExclusive(async () => {
    const group = await ctx.store.getMeta<GroupMeta>(groupKey(groupId))
    if (!group || group.state !== 'pending') return null
    if (group.plan) return { group, plan: group.plan }
    const outbox = await ctx.store.listOutbox()
    const plan: BatchPlan = { batchId: uuid(), commitKey: uuid(), items: [], lockTokens: {} }
    const changes: StoreChange[] = []
    for (const item of group.items) {
      const record = await ctx.store.getRecord(item.collectionId, item.id)
      if (!record) continue
      const operation = batchOperation(record, item)
      if (!operation) continue
      const token = lockTokenOf(entriesOf(outbox, item.collectionId, item.id).filter((entry) => entry.groupId === groupId))
      if (token !== null) plan.lockTokens[item.collectionId] = Math.max(token, plan.lockTokens[item.collectionId] ?? 0)
      plan.items.push(await encodeOperation(ctx, { collectionId: item.collectionId, id: item.id, localVersion: item.localVersion, operation }))
      const unconfirmedKeys = record.attempt?.key ? [...(record.unconfirmedKeys ?? []), record.attempt.key].slice(-8) : record.unconfirmedKeys
      changes.push({ type: 'putRecord', record: { ...record, unconfirmedKeys, attempt: { key: plan.commitKey, localVersion: item.localVersion, batchId: plan.batchId } } })
    }
    const planned = { ...group, plan }
    changes.push({ type: 'putMeta', key: groupKey(groupId), value: planned })
    await ctx.store.write(changes)
    return { group: planned, plan }
  })
}

async function pushGroup(ctx: EngineContext, groupId: string): Promise<'done' | 'again'> {
  const planned = await planGroup(ctx, groupId)
  if (!planned) return 'done'
  const { group, plan } = planned
  let result
  try {
    result = await runBatch(ctx, plan, (done) => ctx.progress.emit({ phase: 'push', done, total: plan.items.length }))
  } catch (caught) {
    const error = toRoostError(caught)
    if (error.code === 401) throw error
    const verdict = classifyWriteError(error, Object.keys(plan.lockTokens).length > 0)
    if (verdict === 'retry') throw error
    if (verdict === 'fatal' && error.code === 404) throw new ResyncNeeded(error, [...new Set(plan.items.map((item) => item.collectionId))])
    if (verdict === 'fatal') throw new FatalError(error, plan.items[0]?.collectionId)
    // Refused for good: the whole group is rejected, as it must land whole or not at all.
    await abortBatch(ctx, plan.batchId)
    await finishGroup(ctx, group, (record, outbox) => settleRejected(record, failureOf(error), outbox))
    return 'done'
  }
  if (result.kind === 'committed') {
    const batch = result.batch
    await finishGroup(ctx, group, (record, outbox) => {
      const index = plan.items.findIndex((item) => item.collectionId === record.collectionId && item.id === record.id)
      const item = group.items.find((candidate) => candidate.collectionId === record.collectionId && candidate.id === record.id)!
      return settleApplied(record, item, index >= 0 ? committedRecord(ctx, batch, plan, index) : record.base, outbox)
    })
    return 'done'
  }
  if (result.kind === 'restart') {
    await replan(ctx, group, result.uncertain ? plan.commitKey : null, [])
    return 'again'
  }
  await abortBatch(ctx, plan.batchId)
  // A record we had a version of is missing: records never vanish, so the collection was deleted (and created again).
  const missing = result.conflicts.filter((conflict) => conflict.reason === 'missing' && plan.items.some((item) => item.collectionId === conflict.collectionId && item.id === conflict.id && 'version' in item.operation))
  if (missing.length > 0) {
    await replan(ctx, group, null, [])
    throw new ResyncNeeded(new RoostError(404, 'NotFound', `Record "${missing[0].id}" is missing from the server`), [...new Set(missing.map((conflict) => conflict.collectionId))])
  }
  const decoded = await Promise.all(result.conflicts.map(async (conflict) => ({ ...conflict, current: await decodeCurrent(ctx, conflict.current) })))
  // Records that only changed in form (re-encrypted under a new key epoch): rebase them and upload the group again.
  const rebased: StoreChange[] = []
  for (const conflict of decoded) {
    const record = await ctx.store.getRecord(conflict.collectionId, conflict.id)
    if (!record || isOwnWrite(record, { key: plan.commitKey }, conflict.current) || !sameContent(record.base, conflict.current)) break
    rebased.push({ type: 'putRecord', record: { ...record, base: conflict.current, attempt: null } })
  }
  if (rebased.length === decoded.length) {
    await replan(ctx, group, null, rebased)
    return 'again'
  }
  return resolveGroupConflicts(ctx, group, plan, decoded)
}

/** Ends a group: every record settles the same way, and the group is dropped, in one local transaction. */
async function finishGroup(
  ctx: EngineContext,
  group: GroupMeta,
  settle: (record: LocalRecord, outbox: Awaited<ReturnType<EngineContext['store']['listOutbox']>>) => { changes: StoreChange[]; outcomes: WriteOutcome[] }
) {
  await ctx.store.runExclusive(async () => {
    const outbox = await ctx.store.listOutbox()
    const changes: StoreChange[] = [{ type: 'deleteMeta', key: groupKey(group.id) }]
    const outcomes: WriteOutcome[] = []
    for (const item of group.items) {
      const record = await ctx.store.getRecord(item.collectionId, item.id)
      if (!record) continue
      // Applied: the writes up to the group's own end (settleApplied leaves later ones pending). Dropped or
      // rejected: the record goes back to the server's state, so later writes built on the group's go too.
      const settled = settle({ ...record }, outbox)
      changes.push(...settled.changes)
      outcomes.push(...settled.outcomes)
    }
    await commit(ctx, { changes, outcomes }, new Set(group.items.map((item) => item.collectionId)))
  })
}

/** Drops the group's plan so that the next push plans a new batch (new bases, new data). */
async function replan(ctx: EngineContext, group: GroupMeta, uncertainKey: string | null, extra: StoreChange[]) {
  await ctx.store.runExclusive(async () => {
    const current = await ctx.store.getMeta<GroupMeta>(groupKey(group.id))
    if (!current) return
    const changes: StoreChange[] = [...extra]
    if (uncertainKey) {
      for (const item of current.items) {
        const record = await ctx.store.getRecord(item.collectionId, item.id)
        if (record) changes.push({ type: 'putRecord', record: { ...record, unconfirmedKeys: [...(record.unconfirmedKeys ?? []), uncertainKey].slice(-8) } })
      }
    }
    changes.push({ type: 'putMeta', key: groupKey(group.id), value: { ...current, plan: null } })
    await ctx.store.write(changes)
  })
}

/**
 * The group's commit met conflicts. All of them our own earlier commit (its
 * answer lost, the batch gone): it landed. Otherwise by the policy of each
 * conflicting record's collection: server-wins drops the whole group (a
 * group lands whole or not at all); client-wins and merges rebase the
 * conflicting records and upload the group again; manual parks the group
 * until the app resolves its records.
 */
async function resolveGroupConflicts(ctx: EngineContext, group: GroupMeta, plan: BatchPlan, conflicts: BatchConflict[]): Promise<'done' | 'again'> {
  const records = new Map<string, LocalRecord>()
  for (const conflict of conflicts) {
    const record = await ctx.store.getRecord(conflict.collectionId, conflict.id)
    if (record) records.set(key(conflict.collectionId, conflict.id), record)
  }
  const own = conflicts.every((conflict) => {
    const record = records.get(key(conflict.collectionId, conflict.id))
    return record && isOwnWrite(record, { key: plan.commitKey }, conflict.current)
  })
  if (own) {
    const currents = new Map(conflicts.map((conflict) => [key(conflict.collectionId, conflict.id), conflict.current]))
    await finishGroup(ctx, group, (record, outbox) => {
      const item = group.items.find((candidate) => candidate.collectionId === record.collectionId && candidate.id === record.id)!
      return settleApplied(record, item, currents.get(key(record.collectionId, record.id)) ?? record.base, outbox)
    })
    return 'done'
  }
  const policies = new Set(conflicts.map((conflict) => ctx.policy(conflict.collectionId)))
  const currents = new Map<string, ServerRecord | null>(conflicts.map((conflict) => [key(conflict.collectionId, conflict.id), conflict.current]))
  if (policies.has('server-wins')) {
    await finishGroup(ctx, group, (record, outbox) => {
      const k = key(record.collectionId, record.id)
      const server = currents.has(k) ? currents.get(k)! : record.base
      return settleConflict(record, record.version, server, 'server-wins', outbox, ctx.now())
    })
    return 'done'
  }
  if (policies.has('manual')) {
    await ctx.store.runExclusive(async () => {
      const current = await ctx.store.getMeta<GroupMeta>(groupKey(group.id))
      if (!current) return
      const outbox = await ctx.store.listOutbox()
      const changes: StoreChange[] = [{ type: 'putMeta', key: groupKey(group.id), value: { ...current, plan: null, state: 'conflict' } }]
      const outcomes: WriteOutcome[] = []
      for (const conflict of conflicts) {
        const record = await ctx.store.getRecord(conflict.collectionId, conflict.id)
        const item = current.items.find((candidate) => candidate.collectionId === conflict.collectionId && candidate.id === conflict.id)
        if (!record || !item) continue
        const settled = settleConflict(record, item.localVersion, conflict.current, 'manual', outbox, ctx.now())
        changes.push(...settled.changes)
        outcomes.push(...settled.outcomes)
      }
      await commit(ctx, { changes, outcomes }, new Set(conflicts.map((conflict) => conflict.collectionId)))
    })
    return 'done'
  }
  // client-wins and merges: a new base for each conflicting record (and merged data), then a new batch.
  const extra: StoreChange[] = []
  const items = group.items.map((item) => ({ ...item }))
  for (const conflict of conflicts) {
    const record = records.get(key(conflict.collectionId, conflict.id))
    const item = items.find((candidate) => candidate.collectionId === conflict.collectionId && candidate.id === conflict.id)
    if (!record || !item) continue
    const policy = ctx.policy(conflict.collectionId)
    let next: LocalRecord = { ...record, base: conflict.current, attempt: null }
    if (typeof policy === 'function') {
      const merged = await policy({ collectionId: item.collectionId, id: item.id, local: item.data, localDeleted: item.deleted, server: conflict.current, base: record.base })
      const state = 'deleted' in merged ? { data: null, deleted: true } : { data: merged.data, deleted: false }
      Object.assign(item, state)
      // The merged state is the newest local write of this record only if nothing came after the group.
      if (record.version === item.localVersion) next = { ...next, ...state }
    }
    extra.push({ type: 'putRecord', record: next })
  }
  await ctx.store.runExclusive(async () => {
    const current = await ctx.store.getMeta<GroupMeta>(groupKey(group.id))
    if (current) await ctx.store.write([...extra, { type: 'putMeta', key: groupKey(group.id), value: { ...current, items, plan: null } }])
  })
  return 'again'
}

