import { placeholders, sqlForLength } from '../statements.js'
import { OPERATION_COLUMNS } from '../rows.js'

/** Batches and their staged operations. */

export const SELECT_BATCH = 'SELECT * FROM batches WHERE id = ?'

/**
 * Takes the batch's row lock until the transaction ends: an UPDATE that
 * changes nothing and writes no key column.
 */
export const TAKE_BATCH = 'UPDATE batches SET status = status WHERE id = ? RETURNING *'

export const INSERT_BATCH = `INSERT INTO batches (id, user_id, status, operation_count, bytes, declared_operations, declared_bytes, result, created_at, expires_at, committed_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** Sets the fields given; a null leaves the field as it is (no batch goes back to having no result). */
export const UPDATE_BATCH = `UPDATE batches SET status = COALESCE(?, status), operation_count = COALESCE(?, operation_count), bytes = COALESCE(?, bytes),
  result = COALESCE(?, result), committed_at = COALESCE(?, committed_at) WHERE id = ?`

export const OPEN_BATCH_STATS =
  "SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes, MIN(expires_at) AS first_expiry FROM batches WHERE user_id = ? AND status = 'open' AND expires_at > ?"

export const LAST_ORDINAL = 'SELECT MAX(ordinal) AS last FROM batch_operations WHERE batch_id = ?'

/** n operations; one on a record already staged replaces it and keeps its ordinal (its place in the order). */
export const stageOperations = sqlForLength(
  (n) =>
    `INSERT INTO batch_operations (${OPERATION_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(OPERATION_COLUMNS.length)).join(', ')}
  ON CONFLICT (batch_id, collection_id, record_id) DO UPDATE SET op = excluded.op, data = excluded.data, base_version = excluded.base_version, bytes = excluded.bytes`
)

export const STAGED_TOTALS = 'SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM batch_operations WHERE batch_id = ?'

export const SELECT_OPERATIONS = 'SELECT * FROM batch_operations WHERE batch_id = ? ORDER BY ordinal'

export const deleteOperations = sqlForLength((n) => `DELETE FROM batch_operations WHERE batch_id IN ${placeholders(n)}`)

export const SELECT_OPEN_BATCHES_TOUCHING =
  "SELECT id FROM batches WHERE user_id = ? AND status = 'open' AND id IN (SELECT batch_id FROM batch_operations WHERE collection_id = ?) ORDER BY id"

/** Housekeeping (purgeExpired), in this order. */
export const EXPIRE_OPEN_BATCHES = "UPDATE batches SET status = 'expired' WHERE status = 'open' AND expires_at <= ?"
/** Only open batches keep operations. */
export const DROP_CLOSED_BATCH_OPERATIONS = "DELETE FROM batch_operations WHERE batch_id IN (SELECT id FROM batches WHERE status <> 'open')"
export const PURGE_BATCHES = "DELETE FROM batches WHERE status <> 'open' AND expires_at <= ?"

/**
 * Open, unexpired batches that staged an operation on a collection, with
 * their user's e-mail (BatchesPort.listOpenBatches): `?` user id or null for
 * every user. EXISTS on (batch_id, collection_id) is the operations'
 * primary-key prefix; the batches themselves come by (status, expires_at).
 */
export const SELECT_OPEN_BATCHES_OF_COLLECTION =
  'SELECT b.id, b.user_id, u.email, b.operation_count, b.bytes, b.created_at, b.expires_at FROM batches b JOIN users u ON u.id = b.user_id ' +
  "WHERE b.status = 'open' AND b.expires_at > ? AND b.user_id = COALESCE(?, b.user_id) " +
  'AND EXISTS (SELECT 1 FROM batch_operations o WHERE o.batch_id = b.id AND o.collection_id = ?) ' +
  'ORDER BY b.created_at, b.id LIMIT ?'
