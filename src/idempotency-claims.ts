import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isoAfter, nowIso } from './clock.js'
import type { HookContext, NextFunction } from './declarations.js'
import { unavailable } from './errors.js'
import type { IdempotencyClaim, IdempotencyScope, JsonValue } from './storage/types.js'

/** Polling a duplicate's pending claim: soon at first (most calls take milliseconds), then less often. */
const FIRST_POLL_MS = 20
const MAX_POLL_MS = 250

/**
 * Runs a call with an idempotency key whose answer is stored after the call
 * (idempotent()), under a claim on the key in the database, so that exactly
 * one run applies it even when duplicates reach several instances:
 *
 * - the key is free (or its holder's lease ran out: a process that died
 *   mid-call): claim it, run the call, store its answer (or, if the call
 *   failed, drop the claim so that a retry runs again);
 * - it was answered: replay the answer (a different request: 422, by storage);
 * - another run holds it: poll until it is answered (replay) or its lease
 *   runs out (take it over), for at most `idempotency.waitSeconds`; then 503
 *   with Retry-After: the first attempt is still running, ask again shortly.
 *
 * `replay` marks an answer as replayed.
 */
export async function claimAndRun(context: HookContext, next: NextFunction, scope: IdempotencyScope, replay: (context: HookContext) => void): Promise<void> {
  const { app } = context
  const storage = app.get('storage')
  const { leaseSeconds, waitSeconds } = app.get('idempotency')
  const token = randomUUID()
  const claim = (): IdempotencyClaim => ({ token, pendingUntil: isoAfter(app, leaseSeconds) })

  const deadline = Date.now() + waitSeconds * 1000
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const outcome = await storage.claimIdempotencyKey(scope, claim(), nowIso(app))
    if (outcome.state === 'claimed') break
    if (outcome.state === 'done') {
      context.result = outcome.response
      replay(context)
      return
    }
    if (Date.now() + delay > deadline) {
      throw unavailable('A request with this idempotency key is still running; retry it shortly to get its answer', 1)
    }
    await sleep(delay)
  }

  // Renews the lease while the call runs, so a slow call is not taken over; a process that dies stops renewing.
  let renewing: Promise<unknown> = Promise.resolve()
  const renewal = setInterval(
    () => {
      renewing = renewing.then(() =>
        storage.claimIdempotencyKey(scope, claim(), nowIso(app)).catch((error: unknown) => {
          app.get('logger').warn({ err: error }, 'renewing an idempotency key claim failed')
        })
      )
    },
    (leaseSeconds * 1000) / 3
  )
  renewal.unref()
  // A renewal still in flight would put the claim back after it ended.
  const stopRenewing = async () => {
    clearInterval(renewal)
    await renewing
  }

  try {
    await next()
  } catch (error) {
    await stopRenewing()
    // Failed calls are not kept: a retry runs again. If this fails too, the key frees up when its lease ends.
    await storage.releaseIdempotencyKey(scope, token).catch((releaseError: unknown) => {
      app.get('logger').warn({ err: releaseError }, 'releasing an idempotency key claim failed')
    })
    throw error
  }
  await stopRenewing()
  try {
    const kept = await storage.completeIdempotencyKey(scope, token, context.result as JsonValue, nowIso(app))
    // Only if the call outlived its lease without renewing it (a stalled process): a retry may have run it again.
    if (!kept) app.get('logger').warn({ userId: scope.userId }, 'an idempotency key claim was taken over before its call finished')
  } catch (error) {
    // The call was applied: answer it. A retry finds the claim and, after its lease, runs again.
    app.get('logger').warn({ err: error }, 'storing the answer of an idempotent call failed')
  }
}
