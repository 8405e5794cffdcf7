import type { Knex } from 'knex'
import { StorageError } from '../errors.js'
import type { AcquireLockParams, AcquireLockResult, LockMode, StoredLock } from '../types.js'
import { select, type Steps } from './statements.js'

/** Leases on collections (see Storage.acquireLock). Cold paths: knex's builder, inside KnexStorage's transactions. */

export interface LockRow {
  collection_id: string
  user_id: string
  holder: string
  mode: string
  token: number | string // bigint: pg returns a string
  acquired_at: string
  expires_at: string
}

export const lockFromRow = (row: LockRow): StoredLock => ({
  collectionId: row.collection_id,
  userId: row.user_id,
  holder: row.holder,
  mode: row.mode as LockMode,
  token: Number(row.token),
  acquiredAt: row.acquired_at,
  expiresAt: row.expires_at
})

const isHolder = (lock: StoredLock, userId: string, holder: string) => lock.userId === userId && lock.holder === holder

export async function acquireLock(trx: Knex.Transaction, params: AcquireLockParams): Promise<AcquireLockResult> {
  const { collectionId, userId, holder, mode, expiresAt, now } = params
  // Bumping the token counter first locks the collection's row: grants
  // serialise with each other and with writes, which take the same row first.
  const [counter] = await trx('collections').where({ id: collectionId }).increment('lock_seq', 1).returning(['lock_seq'])
  if (counter === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  const token = Number((counter as { lock_seq: number | string }).lock_seq)

  const expired = await deleteExpired(trx, now, collectionId)
  const live = (await trx<LockRow>('locks').where({ collection_id: collectionId }).orderBy('acquired_at')).map(lockFromRow)
  const own = live.find((lock) => isHolder(lock, userId, holder))
  const others = live.filter((lock) => !isHolder(lock, userId, holder))
  const inTheWay = mode === 'exclusive' ? others : others.filter((lock) => lock.mode === 'exclusive')
  if (inTheWay.length > 0) {
    throw new StorageError('locked', `The collection is locked by ${describe(inTheWay)}`, { locks: inTheWay })
  }

  if (own !== undefined && own.mode === mode) {
    // A retry (or a renewal by acquiring again): same lock, same token, longer lease.
    await trx('locks').where({ collection_id: collectionId, user_id: userId, holder }).update({ expires_at: expiresAt })
    return { lock: { ...own, expiresAt }, created: false, expired }
  }
  const row: LockRow = { collection_id: collectionId, user_id: userId, holder, mode, token, acquired_at: now, expires_at: expiresAt }
  // Another mode for the same holder is a new grant, with a new token.
  await trx('locks').where({ collection_id: collectionId, user_id: userId, holder }).del()
  await trx('locks').insert(row)
  return { lock: lockFromRow(row), created: true, expired }
}

export async function renewLock(
  trx: Knex.Transaction,
  collectionId: string,
  userId: string,
  holder: string,
  expiresAt: string,
  now: string
): Promise<StoredLock> {
  const rows = await trx<LockRow>('locks')
    .where({ collection_id: collectionId, user_id: userId, holder })
    .andWhere('expires_at', '>', now)
    .update({ expires_at: expiresAt })
    .returning('*')
  if (rows.length === 0) throw new StorageError('not-found', 'You hold no lock on this collection: it was released or has expired')
  return lockFromRow(rows[0] as LockRow)
}

export async function releaseLock(
  trx: Knex.Transaction,
  collectionId: string,
  userId: string,
  holder: string,
  now: string
): Promise<StoredLock | undefined> {
  const [row] = await deleteReturning(trx, () =>
    trx<LockRow>('locks').where({ collection_id: collectionId, user_id: userId, holder }).andWhere('expires_at', '>', now)
  )
  return row && lockFromRow(row)
}

/** Deletes leases past their expiry (of one collection, or all) and returns them. */
export async function deleteExpired(trx: Knex.Transaction, now: string, collectionId?: string): Promise<StoredLock[]> {
  const query = () => {
    const q = trx<LockRow>('locks').where('expires_at', '<=', now)
    return collectionId === undefined ? q : q.andWhere({ collection_id: collectionId })
  }
  return (await deleteReturning(trx, query)).map(lockFromRow)
}

/**
 * Deletes and returns the rows deleted, so that concurrent cleaners (several
 * instances, or the expiry timer and an acquire) each report only what they
 * deleted. PostgreSQL: DELETE … RETURNING. SQLite: knex ignores `returning`
 * on delete, but its transactions run one at a time, so read-then-delete is exact.
 */
async function deleteReturning(trx: Knex.Transaction, query: () => Knex.QueryBuilder<LockRow>): Promise<LockRow[]> {
  if (trx.client.config.client === 'pg') return (await query().del().returning('*')) as unknown as LockRow[]
  const rows = (await query()) as LockRow[]
  if (rows.length > 0) await query().del()
  return rows
}

/** Ends a user's leases on a collection (of one mode, or all). */
export async function releaseLocksOf(trx: Knex.Transaction, collectionId: string, userId: string, mode?: LockMode): Promise<StoredLock[]> {
  const query = () => trx<LockRow>('locks').where({ collection_id: collectionId, user_id: userId, ...(mode === undefined ? {} : { mode }) })
  return (await deleteReturning(trx, query)).map(lockFromRow)
}

/**
 * Inside a write transaction, after the collection's row is locked by the
 * position bump (so no grant can slip in between): may `actor` write to this
 * collection, given the lock tokens it sent? Only called for collections that
 * were ever locked (lock_seq > 0) or when the writer sent a token.
 */
export function* checkWriteLock(collectionId: string, actor: string | null, token: number | undefined, now: string): Steps<void> {
  const [lock] = yield* select<LockRow>(
    `SELECT * FROM locks WHERE collection_id = ? AND mode = 'exclusive' AND expires_at > ?`,
    [collectionId, now]
  )
  if (lock !== undefined) {
    if (token === Number(lock.token) && actor === lock.user_id) return
    const held = lockFromRow(lock)
    throw new StorageError(
      'locked',
      token === undefined
        ? `The collection is locked by ${describe([held])}`
        : `Lock token ${token} is not the lease in force on this collection`,
      { locks: [held] }
    )
  }
  if (token !== undefined) {
    throw new StorageError('locked', `Lock token ${token} is not the lease in force on this collection: it expired or was released`)
  }
}

const describe = (locks: StoredLock[]): string =>
  locks.map((lock) => `${lock.mode === 'shared' ? 'a shared lock of ' : ''}"${lock.holder}" until ${lock.expiresAt}`).join(', ')
