/** Idempotency keys and the answers stored under them. */

export const SELECT_KEY = 'SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ?'

/** Answered keys only: a pending claim (claim_token set) has no answer yet. */
export const SELECT_LIVE_KEY = 'SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ? AND expires_at > ? AND claim_token IS NULL'

/** Stores a key with its answer, replacing one of the same name (a pending claim ends). */
export const PUT_KEY = `INSERT INTO idempotency_keys (user_id, "key", fingerprint, response, created_at, expires_at, claim_token, pending_until) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
  ON CONFLICT (user_id, "key") DO UPDATE SET fingerprint = excluded.fingerprint, response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at,
    claim_token = NULL, pending_until = NULL`

/** Stores a key as claimed by one run, without an answer yet, replacing one of the same name. */
export const PUT_PENDING_KEY = `INSERT INTO idempotency_keys (user_id, "key", fingerprint, response, created_at, expires_at, claim_token, pending_until) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)
  ON CONFLICT (user_id, "key") DO UPDATE SET fingerprint = excluded.fingerprint, response = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at,
    claim_token = excluded.claim_token, pending_until = excluded.pending_until`

export const DELETE_KEY = 'DELETE FROM idempotency_keys WHERE user_id = ? AND "key" = ?'

export const PURGE_KEYS = 'DELETE FROM idempotency_keys WHERE expires_at <= ?'
