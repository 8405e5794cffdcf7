import { nestedService, type ClientApplication } from '../../client.js'
import type { Lock, LockAcquire, LockEvent, LockRelease, LockRemoveQuery, LockRenew } from './locks.schema.js'

export type { Lock, LockAcquire, LockEvent, LockRelease, LockRemoveQuery, LockRenew }

export const lockPath = 'collections/:collectionId/locks'
export const lockMethods = ['find', 'get', 'create', 'patch', 'remove'] as const

export const locksPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/locks`

/**
 * A write under an exclusive lock carries its fencing token: this header over
 * REST, or `$lockToken` in the query over socket.io (batch commits name a
 * token per collection in `lockTokens` instead).
 */
export const LOCK_TOKEN_HEADER = 'lock-token'
export const LOCK_TOKEN_QUERY = '$lockToken'

/** The locks of one collection, on a client. Ids are holder ids (the caller's own, except when breaking). */
export interface LockClientService {
  /** Every live lease of the collection, whoever holds it, each with its holder's `email`. */
  find(): Promise<Lock[]>
  get(holder: string): Promise<Lock>
  /** Acquire (or, for the same holder, extend). 423 with `data.locks` if someone else holds it. */
  create(data: LockAcquire): Promise<Lock>
  /** Renew: 404 if the lease already ended. */
  patch(holder: string, data: LockRenew): Promise<Lock>
  /**
   * Release: succeeds whether or not the lease was still held. With
   * `{ query: { $break: true } }` an owner ends another user's lease of that
   * holder id (403 for other members); `userId` narrows it to one user's.
   */
  remove(holder: string, params?: { query?: LockRemoveQuery }): Promise<LockRelease>
}

export const locksClient = (client: ClientApplication, collectionId: string): LockClientService =>
  nestedService<LockClientService>(client, locksPath(collectionId), lockMethods)
