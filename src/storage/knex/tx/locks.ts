import type { LocksTx } from '../../backend.js'
import type { StoredLock } from '../../types.js'
import { lockFromRow, type LockRow } from '../rows.js'
import * as sql from '../sql/locks.js'
import { execute, select } from '../statements.js'

/** Oldest first, then by holder (and user), as listLeases orders them. */
export const byAge = (a: StoredLock, b: StoredLock): number =>
  a.acquiredAt < b.acquiredAt ? -1 : a.acquiredAt > b.acquiredAt ? 1 : a.holder < b.holder ? -1 : a.holder > b.holder ? 1 : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0

export const locksTx: LocksTx = {
  *listLeases(collectionId) {
    return (yield* select<LockRow>(sql.SELECT_LEASES, [collectionId])).map(lockFromRow)
  },

  *liveExclusiveLease(collectionId, now) {
    const [row] = yield* select<LockRow>(sql.SELECT_LIVE_EXCLUSIVE_LEASE, [collectionId, now])
    return row && lockFromRow(row)
  },

  // DELETE … RETURNING on both databases: exactly the rows deleted (RETURNING
  // gives them in no particular order, so they are sorted).
  *deleteLeases(collectionId, { userId, holder, mode, expiredAt }) {
    const rows = yield* select<LockRow>(sql.DELETE_LEASES, [collectionId, userId ?? null, holder ?? null, mode ?? null, expiredAt ?? null])
    return rows.map(lockFromRow).sort(byAge)
  },

  *insertLease(lock) {
    const { collectionId, userId, holder, mode, token, acquiredAt, expiresAt } = lock
    yield* execute(sql.INSERT_LEASE, [collectionId, userId, holder, mode, token, acquiredAt, expiresAt])
  },

  *setLeaseExpiry(collectionId, userId, holder, expiresAt) {
    yield* execute(sql.SET_LEASE_EXPIRY, [expiresAt, collectionId, userId, holder])
  }
}
