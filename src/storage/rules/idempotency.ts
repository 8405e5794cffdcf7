import type { StorageTx, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { CommitResult, IdempotencyScope, JsonValue } from '../types.js'
import { Replay } from './replay.js'

/**
 * A retry of a request already applied gets the first answer, and nothing is
 * applied again: throws Replay with the stored result. Called after the
 * collections were taken, so a concurrent duplicate waits for (or conflicts
 * with) the first and then finds its key. The same key with another request:
 * 'key-reused'.
 */
export function* replayIfDone(tx: StorageTx, scope: IdempotencyScope, at: string): Tx<void> {
  const stored = yield* tx.getKey(scope.userId, scope.key)
  if (stored === undefined || stored.expiresAt <= at) return
  if (stored.fingerprint !== scope.fingerprint) throw new StorageError('key-reused', 'This idempotency key was used for a different request')
  throw new Replay(stored.response as unknown as CommitResult)
}

/**
 * Keeps a response under a key, unless an unexpired one is there already (the
 * first answer stays). Takes the user first, so two saves of one key are
 * ordered and the second finds the first.
 */
export function* saveKey(tx: StorageTx, scope: IdempotencyScope, response: JsonValue, at: string): Tx<void> {
  yield* tx.takeUser(scope.userId)
  const stored = yield* tx.getKey(scope.userId, scope.key)
  if (stored !== undefined && stored.expiresAt > at) return
  // An expired key of the same name may still be there until the sweeper runs: putKey replaces it.
  yield* tx.putKey(scope, response, at)
}
