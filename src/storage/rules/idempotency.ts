import type { StorageTx, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { ClaimOutcome, CommitResult, IdempotencyClaim, IdempotencyScope, JsonValue } from '../types.js'
import { Replay } from './replay.js'

const reused = (): StorageError => new StorageError('key-reused', 'This idempotency key was used for a different request')

/**
 * A retry of a request already applied gets the first answer, and nothing is
 * applied again: throws Replay with the stored result. Called after the
 * collections were taken, so a concurrent duplicate waits for (or conflicts
 * with) the first and then finds its key. The same key with another request
 * (answered, or still pending in another kind of call): 'key-reused'.
 */
export function* replayIfDone(tx: StorageTx, scope: IdempotencyScope, at: string): Tx<void> {
  const stored = yield* tx.getKey(scope.userId, scope.key)
  if (stored === undefined || stored.expiresAt <= at) return
  // A pending claim is always another kind of call (claims are not taken for record writes), so another request.
  if (stored.fingerprint !== scope.fingerprint || stored.claim !== undefined) throw reused()
  throw new Replay(stored.response as unknown as CommitResult)
}

/**
 * Claims a key for one run of a call (IdempotencyPort.claimIdempotencyKey).
 * Takes the user first, so concurrent claims of one key are ordered: the
 * first inserts its pending row, the others find it.
 */
export function* claimKey(tx: StorageTx, scope: IdempotencyScope, claim: IdempotencyClaim, at: string): Tx<ClaimOutcome> {
  yield* tx.takeUser(scope.userId)
  const stored = yield* tx.getKey(scope.userId, scope.key)
  // An expired key of the same name may still be there until the sweeper runs: it is replaced.
  if (stored !== undefined && stored.expiresAt > at) {
    if (stored.fingerprint !== scope.fingerprint) throw reused()
    if (stored.claim === undefined) return { state: 'done', response: stored.response }
    // Another run's live claim: wait for it. Ours, or one whose process stopped renewing it: (re)take it.
    if (stored.claim.token !== claim.token && stored.claim.pendingUntil > at) return { state: 'pending', pendingUntil: stored.claim.pendingUntil }
  }
  yield* tx.putPendingKey(scope, claim, at)
  return { state: 'claimed' }
}

/** Stores the answer if the claim still holds the key (IdempotencyPort.completeIdempotencyKey). */
export function* completeKey(tx: StorageTx, scope: IdempotencyScope, token: string, response: JsonValue, at: string): Tx<boolean> {
  yield* tx.takeUser(scope.userId)
  const stored = yield* tx.getKey(scope.userId, scope.key)
  if (stored?.claim?.token !== token) return false
  yield* tx.putKey(scope, response, at)
  return true
}

/** Drops the key if the claim still holds it (IdempotencyPort.releaseIdempotencyKey). */
export function* releaseKey(tx: StorageTx, { userId, key }: IdempotencyScope, token: string): Tx<void> {
  yield* tx.takeUser(userId)
  const stored = yield* tx.getKey(userId, key)
  if (stored?.claim?.token === token) yield* tx.deleteKey(userId, key)
}
