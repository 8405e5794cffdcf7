/** Members of collections and their roles. */

export const SELECT_MEMBER =
  'SELECT members.*, users.email FROM members JOIN users ON users.id = members.user_id WHERE members.collection_id = ? AND members.user_id = ?'

export const SELECT_ROLE = 'SELECT role FROM members WHERE collection_id = ? AND user_id = ?'

export const SELECT_OWNER_IDS = "SELECT user_id FROM members WHERE collection_id = ? AND role = 'owner' ORDER BY user_id"

export const SELECT_MEMBER_ROLES = 'SELECT user_id, role FROM members WHERE collection_id = ? ORDER BY user_id'

export const COUNT_OWNED = "SELECT COUNT(*) AS count FROM members WHERE user_id = ? AND role = 'owner'"

export const INSERT_MEMBER = 'INSERT INTO members (collection_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'

export const SET_MEMBER_ROLE = 'UPDATE members SET role = ?, updated_at = ? WHERE collection_id = ? AND user_id = ?'

export const DELETE_MEMBER = 'DELETE FROM members WHERE collection_id = ? AND user_id = ?'
