import type { GroupOutcome } from './backend.js'
import type { GroupMember } from './rules/commit-group.js'
import type { CommitOutcome } from './types.js'

/** At most this many calls share one transaction: a group stays short, and its members' answers wait for no more. */
const MAX_GROUP = 64

interface Waiting extends GroupMember {
  alone: () => Promise<CommitOutcome>
  settle(outcome: GroupOutcome<CommitOutcome>): void
  fail(error: unknown): void
}

/** Commits a group's members in one transaction (rules/commit-group.ts): an outcome per member, or the transaction's failure. */
export type CommitGroup = (collectionId: string, members: GroupMember[]) => Promise<Array<GroupOutcome<CommitOutcome>>>

/**
 * Group commit for writes of one collection (a speed-up, on with the
 * storage's shortcuts). The first write to a collection runs as it would
 * alone. Writes to the same collection that arrive while it is in flight
 * wait, and when it is done they go together, in one transaction
 * (rules/commit-group.ts): one commit and one flush where each would have
 * taken its own, in turn, holding the collection. Writes arriving meanwhile
 * form the next group.
 *
 * Nothing the protocol promises changes: each write gets the outcome it would
 * have had alone, right after the one before it (its own conflict, refused
 * lock or role, idempotent replay); positions stay dense and in commit order;
 * every answer, and so every event, comes after the commit; and a crash
 * before the commit loses the whole group, none of whose writes was
 * acknowledged.
 *
 * Per process: writes of one collection from other instances still take
 * turns with these at the collection, as before. On SQLite a write runs
 * within one turn of the event loop, so requests rarely overlap and groups
 * rarely form; on PostgreSQL and MongoDB every write waits for its commit
 * to be flushed, and a shared collection's writers queue behind it.
 */
export class GroupCommit {
  private readonly busy = new Set<string>()
  private readonly waiting = new Map<string, Waiting[]>()

  constructor(private readonly commitGroup: CommitGroup) {}

  /** `alone` when nothing of the collection is in flight; otherwise the member joins the next group. */
  async run(collectionId: string, alone: () => Promise<CommitOutcome>, member: GroupMember): Promise<GroupOutcome<CommitOutcome>> {
    if (!this.busy.has(collectionId)) {
      this.busy.add(collectionId)
      try {
        return { ok: true, value: await alone() }
      } catch (error) {
        return { ok: false, error }
      } finally {
        this.next(collectionId)
      }
    }
    return new Promise<GroupOutcome<CommitOutcome>>((settle, fail) => {
      const queue = this.waiting.get(collectionId) ?? []
      queue.push({ ...member, alone, settle, fail })
      this.waiting.set(collectionId, queue)
    })
  }

  /** Starts the collection's next group, or marks it idle. */
  private next(collectionId: string): void {
    const queue = this.waiting.get(collectionId)
    if (queue === undefined || queue.length === 0) {
      this.waiting.delete(collectionId)
      this.busy.delete(collectionId)
      return
    }
    const group = queue.splice(0, MAX_GROUP)
    // One waiting call goes as it would alone: on PostgreSQL a single write is then one round trip, where a group takes five.
    const committed =
      group.length === 1
        ? group[0].alone().then(
            (value): Array<GroupOutcome<CommitOutcome>> => [{ ok: true, value }],
            (error: unknown): Array<GroupOutcome<CommitOutcome>> => [{ ok: false, error }]
          )
        : this.commitGroup(
            collectionId,
            group.map(({ writes, context }) => ({ writes, context }))
          )
    void committed
      .then(
        (outcomes) => outcomes.forEach((outcome, i) => group[i].settle(outcome)),
        (error: unknown) => group.forEach((member) => member.fail(error))
      )
      .finally(() => this.next(collectionId))
  }
}
