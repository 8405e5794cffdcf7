/** Collections: their position (`seq`), epoch and fencing-token counter (`lock_seq`). */

/**
 * Takes the collection: moves its position by `positions` and its token
 * counter by 0 or 1. On PostgreSQL the UPDATE holds the row's lock until the
 * transaction ends, even when both grow by 0, so every transaction that takes
 * the collection waits for this one: each collection's writes, grants and
 * membership changes are linearizable, and positions commit in order.
 * (SQLite runs one write transaction at a time anyway.)
 */
export const TAKE_COLLECTION = 'UPDATE collections SET seq = seq + ?, lock_seq = lock_seq + ? WHERE id = ? RETURNING *'

export const SELECT_COLLECTION = 'SELECT * FROM collections WHERE id = ?'

/** A collection with one user's role in it (null: not a member), in one read. */
export const SELECT_COLLECTION_ACCESS =
  'SELECT collections.*, members.role AS member_role FROM collections LEFT JOIN members ON members.collection_id = collections.id AND members.user_id = ? WHERE collections.id = ?'

/** An id already taken fails the statement (unique violation: 'already-exists', driver-errors.ts). */
export const INSERT_COLLECTION = 'INSERT INTO collections (id, name, owner_id, epoch, seq, lock_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)'

export const RENAME_COLLECTION = 'UPDATE collections SET name = ?, updated_at = ? WHERE id = ? RETURNING *'

/**
 * Deleting a collection removes exactly these, in this order (children
 * first), whether or not the database enforces ON DELETE CASCADE: its
 * records and tombstones, members, leases, invitations (with the keys they
 * carry), wrapped keys, key epochs, then the collection.
 * Batches, their staged operations and idempotency keys are the users' and stay.
 */
export const DELETE_COLLECTION = [
  'DELETE FROM records WHERE collection_id = ?',
  'DELETE FROM members WHERE collection_id = ?',
  'DELETE FROM locks WHERE collection_id = ?',
  'DELETE FROM invitations WHERE collection_id = ?',
  'DELETE FROM collection_keys WHERE collection_id = ?',
  'DELETE FROM key_epochs WHERE collection_id = ?',
  'DELETE FROM collections WHERE id = ?'
] as const

/** A page of collection ids in id order, after a given one (renewAfterRestore). */
export const SELECT_COLLECTION_IDS = 'SELECT id FROM collections ORDER BY id LIMIT ?'
export const SELECT_COLLECTION_IDS_AFTER = 'SELECT id FROM collections WHERE id > ? ORDER BY id LIMIT ?'

/** A new epoch and the token counter moved on (renewAfterRestore); takes the row as TAKE_COLLECTION does. */
export const RENEW_COLLECTION = 'UPDATE collections SET epoch = ?, lock_seq = lock_seq + ? WHERE id = ?'
