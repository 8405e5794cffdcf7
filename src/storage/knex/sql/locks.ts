/** Leases on collections (`locks`); their tokens come from collections.lock_seq. */

export const SELECT_LEASES = 'SELECT * FROM locks WHERE collection_id = ? ORDER BY acquired_at, holder, user_id'

export const SELECT_LIVE_LEASES = 'SELECT * FROM locks WHERE collection_id = ? AND expires_at > ? ORDER BY acquired_at, holder, user_id'

export const SELECT_LIVE_EXCLUSIVE_LEASE =
  "SELECT * FROM locks WHERE collection_id = ? AND mode = 'exclusive' AND expires_at > ? ORDER BY acquired_at LIMIT 1"

/**
 * Deletes the collection's leases that match; a null filter matches every
 * lease (each column is NOT NULL). RETURNING gives exactly the rows this
 * statement deleted, so concurrent cleaners each report only their own.
 */
export const DELETE_LEASES =
  'DELETE FROM locks WHERE collection_id = ? AND user_id = COALESCE(?, user_id) AND holder = COALESCE(?, holder) AND mode = COALESCE(?, mode) AND expires_at <= COALESCE(?, expires_at) RETURNING *'

/** Every lease past its expiry, of every collection; each returned by the one statement that deleted it. */
export const DELETE_EXPIRED_LEASES = 'DELETE FROM locks WHERE expires_at <= ? RETURNING *'

export const INSERT_LEASE =
  'INSERT INTO locks (collection_id, user_id, holder, mode, token, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'

export const SET_LEASE_EXPIRY = 'UPDATE locks SET expires_at = ? WHERE collection_id = ? AND user_id = ? AND holder = ?'
