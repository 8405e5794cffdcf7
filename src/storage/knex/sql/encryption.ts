import { placeholders, sqlForLength } from '../statements.js'
import { COLLECTION_KEY_COLUMNS } from '../rows.js'

/** End-to-end encryption keys: users' public keys (`user_keys`), key epochs and wrapped collection keys. */

export const SELECT_USER_KEY = 'SELECT * FROM user_keys WHERE user_id = ?'

/** Inserts or replaces the user's key (the rules took the user and compared the version). */
export const PUT_USER_KEY = `INSERT INTO user_keys (user_id, public_key, key_version, passphrase_wrap, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (user_id) DO UPDATE SET public_key = excluded.public_key, key_version = excluded.key_version, passphrase_wrap = excluded.passphrase_wrap,
  created_at = excluded.created_at, updated_at = excluded.updated_at`

/** Every member with their key's version (null: none yet). */
export const SELECT_MEMBER_KEY_VERSIONS =
  'SELECT members.user_id, user_keys.key_version FROM members LEFT JOIN user_keys ON user_keys.user_id = members.user_id WHERE members.collection_id = ? ORDER BY members.user_id'

export const SELECT_KEY_EPOCHS = 'SELECT * FROM key_epochs WHERE collection_id = ? ORDER BY epoch'

/** A taken epoch fails the statement (primary key: 'already-exists', driver-errors.ts). */
export const INSERT_KEY_EPOCH = 'INSERT INTO key_epochs (collection_id, epoch, created_by, created_at) VALUES (?, ?, ?, ?)'

/** For every epoch, the members with a public key and no row for it made for that key's version. */
export const SELECT_MISSING_COLLECTION_KEYS = `SELECT key_epochs.epoch, members.user_id FROM key_epochs
  JOIN members ON members.collection_id = key_epochs.collection_id
  JOIN user_keys ON user_keys.user_id = members.user_id
  LEFT JOIN collection_keys ON collection_keys.collection_id = key_epochs.collection_id AND collection_keys.epoch = key_epochs.epoch
    AND collection_keys.user_id = members.user_id AND collection_keys.key_version = user_keys.key_version
  WHERE key_epochs.collection_id = ? AND collection_keys.user_id IS NULL
  ORDER BY key_epochs.epoch, members.user_id`

/** The rows of n users for one epoch. */
export const selectCollectionKeys = sqlForLength((n) => `SELECT * FROM collection_keys WHERE collection_id = ? AND epoch = ? AND user_id IN ${placeholders(n)}`)

/** n rows (COLLECTION_KEY_COLUMNS order); one already there for (collection, epoch, user) is replaced. */
export const putCollectionKeys = sqlForLength(
  (n) =>
    `INSERT INTO collection_keys (${COLLECTION_KEY_COLUMNS.join(', ')}) VALUES ${new Array<string>(n).fill(placeholders(COLLECTION_KEY_COLUMNS.length)).join(', ')}
  ON CONFLICT (collection_id, epoch, user_id) DO UPDATE SET key_version = excluded.key_version, wrapped_key = excluded.wrapped_key,
  wrapped_by = excluded.wrapped_by, created_at = excluded.created_at`
)

export const DELETE_USER_COLLECTION_KEYS = 'DELETE FROM collection_keys WHERE collection_id = ? AND user_id = ?'
