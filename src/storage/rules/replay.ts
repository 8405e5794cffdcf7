import type { CommitResult } from '../types.js'

/**
 * Thrown by a rule inside its transaction to roll it back and answer with a
 * result stored earlier (an idempotent retry, a batch committed before).
 * SyncStorage turns it into a value (`replayed: true`); it never reaches a
 * service.
 */
export class Replay<Extra = unknown> {
  constructor(
    readonly result: CommitResult,
    readonly extra?: Extra
  ) {}
}
