/** Users. */

export const SELECT_USER = 'SELECT * FROM users WHERE id = ?'

export const SELECT_USER_BY_EMAIL = 'SELECT * FROM users WHERE email = ?'

export const INSERT_USER = 'INSERT INTO users (id, email, password, created_at) VALUES (?, ?, ?, ?)'

export const SET_USER_PASSWORD = 'UPDATE users SET password = ? WHERE id = ?'

/**
 * Takes the user's row lock until the transaction ends (per-user quotas): an
 * UPDATE that changes nothing and writes no key column, so it does not block
 * foreign-key checks on the user (PostgreSQL's FOR NO KEY UPDATE).
 */
export const TAKE_USER = 'UPDATE users SET created_at = created_at WHERE id = ?'
