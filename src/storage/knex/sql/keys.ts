/** Idempotency keys and the answers stored under them. */

export const SELECT_KEY = 'SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ?'

export const SELECT_LIVE_KEY = 'SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ? AND expires_at > ?'

/** Stores a key, replacing one of the same name. */
export const PUT_KEY = `INSERT INTO idempotency_keys (user_id, "key", fingerprint, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (user_id, "key") DO UPDATE SET fingerprint = excluded.fingerprint, response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at`

export const PURGE_KEYS = 'DELETE FROM idempotency_keys WHERE expires_at <= ?'
