import type { GroupOutcome, StorageTx, Tx } from './backend.js'

/** At most this many writes share one transaction: a group stays short, and its members' answers wait for no more. */
const MAX_GROUP = 64

interface Waiting {
  work: (tx: StorageTx) => Tx<unknown>
  settle(outcome: GroupOutcome<unknown>): void
  fail(error: unknown): void
}

/**
 * Group commit for writes of one collection (a speed-up, on with the
 * backend's `commitGroup`). The first write to a collection runs as it
 * would alone. Writes to the same collection that arrive while it is in
 * flight wait, and when it is done they go together, in one transaction
 * with a savepoint each (BackendShortcuts.commitGroup): one commit and one
 * flush where each would have taken its own, in turn, holding the
 * collection. Writes arriving meanwhile form the next group.
 *
 * Nothing the protocol promises changes: each write still runs the whole
 * rule (commit-writes.ts) inside the transaction, so it takes the collection,
 * reserves its positions, checks its key, leases and role, and fails alone;
 * positions stay dense (a failed write's savepoint rolls its reservation
 * back); every answer, and so every event, comes after the commit; and a
 * crash before the commit loses the whole group, none of whose writes was
 * acknowledged.
 *
 * Per process: writes of one collection from other instances still take
 * turns with these at the collection's row lock, as before.
 */
export class GroupCommit {
  private readonly busy = new Set<string>()
  private readonly waiting = new Map<string, Waiting[]>()

  constructor(private readonly commitGroup: <T>(works: Array<(tx: StorageTx) => Tx<T>>) => Promise<Array<GroupOutcome<T>>>) {}

  /** `alone` when nothing of the collection is in flight; otherwise `work` joins the next group. */
  async run<T>(collectionId: string, alone: () => Promise<T>, work: (tx: StorageTx) => Tx<T>): Promise<GroupOutcome<T>> {
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
    return new Promise<GroupOutcome<T>>((settle, fail) => {
      const queue = this.waiting.get(collectionId) ?? []
      queue.push({ work, settle: settle as (outcome: GroupOutcome<unknown>) => void, fail })
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
    void this.commitGroup(group.map((member) => member.work)).then(
      (outcomes) => outcomes.forEach((outcome, i) => group[i].settle(outcome)),
      (error: unknown) => group.forEach((member) => member.fail(error))
    ).finally(() => this.next(collectionId))
  }
}
