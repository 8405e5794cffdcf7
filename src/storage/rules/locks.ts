import type { StorageTx, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import type { AcquireLockParams, AcquireLockResult, BreakLockParams, StoredLock } from '../types.js'
import { requireRole } from './authorize.js'

/**
 * Leases on collections (LocksPort). Every rule here takes the collection
 * first, so grants, renewals and releases are ordered with each other and
 * with the collection's writes and membership changes.
 */

const isHolder = (lock: StoredLock, userId: string, holder: string) => lock.userId === userId && lock.holder === holder

export function* acquireLock(tx: StorageTx, params: AcquireLockParams): Tx<AcquireLockResult> {
  const { collectionId, userId, holder, mode, expiresAt, now } = params
  // The next fencing token is reserved with the take: tokens strictly increase per collection.
  const taken = yield* tx.takeCollection(collectionId, { lockToken: true })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)

  // Expired leases are cleared on the way, and announced once, by whoever clears them.
  const expired = yield* tx.deleteLeases(collectionId, { expiredAt: now })
  const live = yield* tx.listLeases(collectionId)
  const own = live.find((lock) => isHolder(lock, userId, holder))
  const others = live.filter((lock) => !isHolder(lock, userId, holder))
  const inTheWay = mode === 'exclusive' ? others : others.filter((lock) => lock.mode === 'exclusive')
  if (inTheWay.length > 0) throw new StorageError('locked', `The collection is locked by ${describeLocks(inTheWay)}`, { locks: inTheWay })

  if (own !== undefined && own.mode === mode) {
    // A retry (or a renewal by acquiring again): same lock, same token, longer lease.
    yield* tx.setLeaseExpiry(collectionId, userId, holder, expiresAt)
    return { lock: { ...own, expiresAt }, created: false, expired }
  }
  // Another mode for the same holder is a new grant, with a new token.
  if (own !== undefined) yield* tx.deleteLeases(collectionId, { userId, holder })
  const lock: StoredLock = { collectionId, userId, holder, mode, token: taken.lockSeq, acquiredAt: now, expiresAt }
  yield* tx.insertLease(lock)
  return { lock, created: true, expired }
}

/** The holder's live lease, or 'not-found' (released or expired). */
function* liveLeaseOf(tx: StorageTx, collectionId: string, userId: string, holder: string, now: string): Tx<StoredLock | undefined> {
  const taken = yield* tx.takeCollection(collectionId)
  if (taken === undefined) return undefined
  const leases = yield* tx.listLeases(collectionId)
  return leases.find((lock) => isHolder(lock, userId, holder) && lock.expiresAt > now)
}

export function* renewLock(tx: StorageTx, collectionId: string, userId: string, holder: string, expiresAt: string, now: string): Tx<StoredLock> {
  const lease = yield* liveLeaseOf(tx, collectionId, userId, holder, now)
  if (lease === undefined) throw new StorageError('not-found', 'You hold no lock on this collection: it was released or has expired')
  yield* tx.setLeaseExpiry(collectionId, userId, holder, expiresAt)
  return { ...lease, expiresAt }
}

export function* releaseLock(tx: StorageTx, collectionId: string, userId: string, holder: string, now: string): Tx<StoredLock | undefined> {
  const lease = yield* liveLeaseOf(tx, collectionId, userId, holder, now)
  if (lease === undefined) return undefined
  yield* tx.deleteLeases(collectionId, { userId, holder })
  return lease
}

/**
 * An owner ends someone's lease. The token counter is not touched: the next
 * grant gets a higher token, and the broken holder's token matches no live
 * lease, so its fenced writes fail (checkWriteLock).
 */
export function* breakLock(tx: StorageTx, params: BreakLockParams): Tx<StoredLock[]> {
  const { collectionId, holder, userId, actorId, now } = params
  const taken = yield* tx.takeCollection(collectionId, { roleOf: actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  requireRole(taken, 'owner', "Breaking another holder's lock")
  // Expired leases of that holder go too, but only live ones were "broken" (expired ones are the sweeper's to announce).
  const ended = yield* tx.deleteLeases(collectionId, { holder, userId })
  return ended.filter((lock) => lock.expiresAt > now)
}

/**
 * May `actor` write to this collection, given the lock token it sent? Called
 * inside a write, after the collection was taken (so no grant slips in
 * between), for collections ever locked or when the writer sent a token:
 * under someone else's live exclusive lease, or with a token that is not the
 * live lease's, 'locked'.
 */
export function* checkWriteLock(tx: StorageTx, collectionId: string, actor: string | null, token: number | undefined, now: string): Tx<void> {
  const lease = yield* tx.liveExclusiveLease(collectionId, now)
  if (lease !== undefined) {
    if (token === lease.token && actor === lease.userId) return
    throw new StorageError(
      'locked',
      token === undefined ? `The collection is locked by ${describeLocks([lease])}` : `Lock token ${token} is not the lease in force on this collection`,
      { locks: [lease] }
    )
  }
  if (token !== undefined) {
    throw new StorageError('locked', `Lock token ${token} is not the lease in force on this collection: it expired or was released`)
  }
}

export const describeLocks = (locks: StoredLock[]): string =>
  locks.map((lock) => `${lock.mode === 'shared' ? 'a shared lock of ' : ''}"${lock.holder}" until ${lock.expiresAt}`).join(', ')
