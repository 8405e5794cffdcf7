import { placeholders, sqlForLength } from '../statements.js'

/** Invitations to collections. */

/** An invitation with its collection's current name (an invitee cannot read the collection before accepting). */
export const SELECT_INVITATION =
  'SELECT invitations.*, (SELECT name FROM collections WHERE collections.id = invitations.collection_id) AS collection_name FROM invitations WHERE id = ?'

export const INSERT_INVITATION =
  "INSERT INTO invitations (id, collection_id, role, invitee_user_id, invitee_email, invited_by, status, created_at, expires_at, answered_at, keys) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, NULL, ?)"

/** The keys it carries, as JSON text (invitation-keys.ts); read only on accepting. */
export const SELECT_INVITATION_KEYS = 'SELECT keys FROM invitations WHERE id = ?'

/** Pending by status (expired or not), addressed to the user by id or, for an invitation by address, by e-mail. */
export const SELECT_PENDING_INVITATION_IDS =
  "SELECT id FROM invitations WHERE collection_id = ? AND status = 'pending' AND (invitee_user_id = ? OR (invitee_user_id IS NULL AND invitee_email = ?)) ORDER BY id"

export const PENDING_INVITATION_STATS =
  "SELECT COUNT(*) AS count, MIN(expires_at) AS first_expiry FROM invitations WHERE collection_id = ? AND status = 'pending' AND expires_at > ?"

/** Closes n invitations; a null invitee leaves the one they have. */
export const closeInvitations = sqlForLength(
  (n) => `UPDATE invitations SET status = ?, answered_at = ?, invitee_user_id = COALESCE(?, invitee_user_id) WHERE id IN ${placeholders(n)}`
)

/** Answered before `retainUntil` or expired before it: gone for good. */
export const PURGE_INVITATIONS = "DELETE FROM invitations WHERE expires_at <= ? OR (status <> 'pending' AND answered_at <= ?)"
