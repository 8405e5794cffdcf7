import type { GroupOutcome, StorageTx, Tx } from '../backend.js'
import { byId } from '../../ids.js'
import { StorageError, type RecordConflict } from '../errors.js'
import type { CommitOutcome, CommitResult, IdempotencyScope, MemberRole, RecordWrite, StoredRecord, WriteContext, WriteOutcome } from '../types.js'
import { assertDistinct, checkRole } from './commit-writes.js'
import { replayIfDone } from './idempotency.js'
import { checkWriteLock } from './locks.js'
import { planWrite } from './plan-write.js'
import { Replay } from './replay.js'

/** One call's writes to the group's collection, as commitWrites would get them. */
export interface GroupMember {
  writes: RecordWrite[]
  context: WriteContext
}

/**
 * # Group commit: many calls' writes to one collection in one transaction
 *
 * The calls that arrive for a collection while a write to it is in flight
 * (../group-commit.ts) are committed together, each with exactly the outcome
 * it would have had alone, in arrival order, as if each had run
 * commitWrites (./commit-writes.ts) right after the one before:
 *
 * 1. **Take the collection once**, reserving nothing yet. Every member's
 *    checks below run after the take, as they do alone.
 * 2. Per member, in order: its **role** (read once per author), its
 *    **idempotency key** (also against the keys of members before it in the
 *    group, whose results are not stored yet), its **lease**; any refusal
 *    fails that member alone.
 * 3. **Read every record the group writes in one statement**, then plan each
 *    member against the state the members before it left (a record written
 *    by two members is planned twice, the second time against the first's
 *    version). A member with a conflict fails alone, changing nothing.
 * 4. **Reserve exactly the positions of the members that apply** (the
 *    collection's counter moves once, by that many) and hand them out in
 *    member order, so positions stay dense and in commit order: a failed
 *    member never held one, so nothing has to be given back.
 * 5. **Write every record's final state at once**: new ids in one insert,
 *    the others in one compare-and-set per group on the version read in step
 *    3; then store each member's idempotency key with its result.
 *
 * Why not a savepoint per member: each member then ran the whole rule with
 * its own round trips while the collection was held (about 3 per member on
 * PostgreSQL), and MongoDB has no savepoints. Here a group costs the same
 * few statements whatever its size. A failure of the transaction itself
 * (the database's, not a member's) fails the whole group, none of which was
 * applied or acknowledged.
 */
export function* commitGroup(tx: StorageTx, collectionId: string, members: GroupMember[]): Tx<Array<GroupOutcome<CommitOutcome>>> {
  const outcomes = new Array<GroupOutcome<CommitOutcome>>(members.length)
  const fail = (i: number, error: unknown): void => {
    outcomes[i] = { ok: false, error }
  }
  const alive = new Set(members.keys())
  if (members.some(({ writes }) => writes.some((write) => write.collectionId !== collectionId))) throw new Error('A group member writes outside the group’s collection')

  // 1. Take the collection (the role of the first author who needs one is read with the take).
  const firstAuthor = members.find((member) => member.context.requireRole !== undefined)?.context.actor ?? undefined
  const taken = yield* tx.takeCollection(collectionId, { positions: 0, ...(firstAuthor === undefined ? {} : { roleOf: firstAuthor }) })
  const roles = new Map<string, MemberRole | undefined>()
  if (firstAuthor !== undefined) roles.set(firstAuthor, taken?.role)

  // 2. Each member's own checks, in order: its writes distinct, its role, idempotency key and lease.
  const keysInGroup = new Map<string, { fingerprint: string; member: number }>()
  for (const i of alive) {
    const { writes, context } = members[i]
    try {
      assertDistinct(writes)
      if (context.requireRole !== undefined) {
        const actor = context.actor ?? ''
        if (!roles.has(actor)) roles.set(actor, taken === undefined ? undefined : (yield* tx.getMember(collectionId, actor))?.role)
        checkRole(collectionId, roles.get(actor), context.requireRole)
      }
      if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
      if (context.idempotency !== undefined) {
        const { fingerprint } = context.idempotency
        const earlier = keysInGroup.get(keyName(context.idempotency))
        if (earlier === undefined) {
          yield* replayIfDone(tx, context.idempotency, context.at)
          keysInGroup.set(keyName(context.idempotency), { fingerprint, member: i })
        } else if (earlier.fingerprint !== fingerprint) {
          throw new StorageError('key-reused', 'This idempotency key was used for a different request')
        }
        // Otherwise a retry of a member before it in this group: answered with that member's outcome (step 3).
      }
      const token = byId(context.lockTokens, collectionId)
      if (taken.lockSeq > 0 || token !== undefined) yield* checkWriteLock(tx, collectionId, context.actor, token, context.at)
    } catch (error) {
      if (!isRefusal(error)) throw error
      fail(i, error)
      alive.delete(i)
    }
  }
  if (taken === undefined || alive.size === 0) return outcomes

  // 3. Read every record the group writes, then plan each member against the state before it.
  const ids = new Set<string>()
  for (const i of alive) for (const write of members[i].writes) ids.add(write.id)
  const read = new Map((yield* tx.getRecords(collectionId, [...ids])).map((record) => [record.id, record]))
  const state = new Map<string, StoredRecord>(read)
  const base = taken.collection.seq
  let next = base + 1
  const results = new Map<number, CommitResult>()
  for (const i of alive) {
    const { writes, context } = members[i]
    const retryOf = context.idempotency === undefined ? undefined : keysInGroup.get(keyName(context.idempotency))
    if (retryOf !== undefined && retryOf.member !== i) {
      // Answered as it would be after the first: with its result if it applied, as it failed otherwise.
      // (A first that failed changed nothing, so the retry would fail the same way.)
      const first = results.get(retryOf.member)
      fail(i, first !== undefined ? new Replay(first) : (outcomes[retryOf.member] as { ok: false; error: unknown }).error)
      continue
    }
    try {
      const planned = planMember(writes, context, state, next)
      for (const record of planned.records) state.set(record.id, record)
      next += planned.records.length
      results.set(i, { ...planned, positions: { [collectionId]: { seq: next - 1, epoch: taken.collection.epoch } } })
    } catch (error) {
      if (!isRefusal(error)) throw error
      fail(i, error)
    }
  }
  if (results.size === 0) return outcomes

  // 4. Reserve the positions handed out.
  const reserved = yield* tx.takeCollection(collectionId, { positions: next - 1 - base })
  if (reserved?.collection.seq !== next - 1) throw new Error(`The collection's counter moved while it was taken (expected ${next - 1}, found ${reserved?.collection.seq})`)

  // 5. Write each record's final state, then each member's key with its result.
  const inserts: StoredRecord[] = []
  const replacements: Array<{ record: StoredRecord; previous: { version: number } }> = []
  for (const [id, record] of state) {
    const before = read.get(id)
    if (record === before) continue
    if (before === undefined) inserts.push(record)
    else replacements.push({ record, previous: { version: before.version } })
  }
  if (inserts.length > 0) yield* tx.insertRecords(inserts)
  // Compare-and-set on the versions read: even a backend that failed to keep the collection taken could not lose an update.
  if (replacements.length > 0 && (yield* tx.replaceRecords(replacements)) !== replacements.length) {
    throw new Error('A record changed while its collection was taken; nothing was written')
  }
  for (const [i, result] of results) {
    const { context } = members[i]
    if (context.idempotency !== undefined) yield* tx.putKey(context.idempotency, result as unknown as Parameters<StorageTx['putKey']>[1], context.at)
    outcomes[i] = { ok: true, value: { ...result, replayed: false } }
  }
  return outcomes
}

/** A member's records at positions from `seq`, or its conflicts (thrown, as commitWrites throws them). */
function planMember(writes: RecordWrite[], context: WriteContext, state: Map<string, StoredRecord>, seq: number): Omit<CommitResult, 'positions'> {
  const conflicts: RecordConflict[] = []
  const records: StoredRecord[] = []
  const outcomes: WriteOutcome[] = []
  for (const write of writes) {
    const existing = state.get(write.id)
    const plan = planWrite(existing, write, context)
    if (!plan.ok) {
      conflicts.push(plan.conflict)
      continue
    }
    records.push({ ...plan.next, seq: seq + records.length })
    outcomes.push(plan.next.deleted ? 'deleted' : existing === undefined || existing.deleted ? 'created' : 'updated')
  }
  if (conflicts.length > 0) throw new StorageError('conflict', `${conflicts.length} of ${writes.length} writes conflict`, { conflicts, stale: [] })
  return { records, outcomes }
}

/** What fails one member alone: a rule's refusal or an idempotent replay. Anything else (a bug, the database) fails the group. */
const isRefusal = (error: unknown): boolean => error instanceof StorageError || error instanceof Replay

const keyName = ({ userId, key }: IdempotencyScope): string => `${userId}\u0000${key}`
