import type { StorageTx, Tx } from '../backend.js'
import { newFeedEpoch } from '../epoch.js'

/** After a restore from a backup (MaintenancePort.renewAfterRestore). */

/**
 * How far the fencing-token counter of every collection jumps: more grants
 * than one collection could have had between a backup and its restore (ten
 * billion: a grant every millisecond for 115 days), while a token stays a
 * safe integer of at most 16 digits (lock-token.ts) for some 900,000 restores.
 * The counter's restored value is below every token granted after the
 * backup; counting on from it would hand those tokens out again, and a
 * holder that kept one from before the restore could write with it under
 * another holder's lease of the same user.
 */
export const LOCK_TOKEN_GAP = 10_000_000_000

/** Collections renewed per transaction. */
export const RENEWAL_PAGE = 500

/**
 * Renews the collections after `after` (in id order), at most `limit` of
 * them: a new epoch, the token counter moved on, every lease ended.
 */
export function* renewCollections(tx: StorageTx, after: string | null, limit: number): Tx<{ ids: string[]; leasesEnded: number }> {
  const ids = yield* tx.collectionIdsAfter(after, limit)
  let leasesEnded = 0
  for (const id of ids) {
    // Taken first, so a writer that (against the instructions) still runs is ordered with the renewal.
    if (!(yield* tx.renewCollection(id, { epoch: newFeedEpoch(), lockTokenGap: LOCK_TOKEN_GAP }))) continue
    leasesEnded += (yield* tx.deleteLeases(id, {})).length
  }
  return { ids, leasesEnded }
}
