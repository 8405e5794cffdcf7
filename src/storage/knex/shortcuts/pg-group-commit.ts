import type { GroupOutcome, StorageTx, Tx } from '../../backend.js'
import { retrying, translateDriverError } from '../driver-errors.js'
import type { PostgresSessions } from '../postgres-sessions.js'
import { asSteps, ThrownByStep } from '../statements.js'
import { sqlTx } from '../tx/index.js'

/**
 * Shortcut (PostgreSQL): group commit. Writers of one collection take turns
 * at its row lock, and each holds it until its commit is flushed to disk, so
 * a shared collection is bounded by the flush, one write per flush, whatever
 * the CPU. The writes that arrive while one is in flight are committed
 * together, one flush for them all (../../group-commit.ts queues them); each
 * in a savepoint, so each keeps its own outcome.
 *
 * A failure of the transaction itself (BEGIN, COMMIT, a lost connection) is
 * retried whole when retryable, and otherwise fails every write of the group,
 * none of which happened.
 */
export function pgGroupCommit(sessions: PostgresSessions) {
  return async <T>(works: Array<(tx: StorageTx) => Tx<T>>): Promise<Array<GroupOutcome<T>>> => {
    const outcomes = await retrying(() => sessions.writeGroup(works.map((work) => () => asSteps(work(sqlTx)))))
    return outcomes.map((outcome) => (outcome.ok ? outcome : { ok: false, error: unboxed(outcome.error) }))
  }
}

/** What a rule threw, as it was; a driver's error, translated. */
const unboxed = (error: unknown): unknown => (error instanceof ThrownByStep ? error.error : translateDriverError(error))
