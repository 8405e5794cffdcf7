import type { EncryptionTx } from '../../backend.js'
import { chunks, IDS_PER_QUERY, ROWS_PER_INSERT } from '../chunks.js'
import {
  collectionKeyFromRow,
  collectionKeyValues,
  keyEpochFromRow,
  userKeyFromRow,
  type CollectionKeyRow,
  type KeyEpochDbRow,
  type UserKeyRow
} from '../rows.js'
import * as sql from '../sql/encryption.js'
import { execute, select } from '../statements.js'

export const encryptionTx: EncryptionTx = {
  *getUserKey(userId) {
    const [row] = yield* select<UserKeyRow>(sql.SELECT_USER_KEY, [userId])
    return row && userKeyFromRow(row)
  },

  *putUserKey(key) {
    const wrap = key.passphraseWrap === null ? null : JSON.stringify(key.passphraseWrap)
    yield* execute(sql.PUT_USER_KEY, [key.userId, key.publicKey, key.keyVersion, wrap, key.createdAt, key.updatedAt])
  },

  *memberKeyVersions(collectionId) {
    const rows = yield* select<{ user_id: string; key_version: number | string | null }>(sql.SELECT_MEMBER_KEY_VERSIONS, [collectionId])
    return rows.map((row) => ({ userId: row.user_id, keyVersion: row.key_version === null ? null : Number(row.key_version) }))
  },

  *keyEpochs(collectionId) {
    return (yield* select<KeyEpochDbRow>(sql.SELECT_KEY_EPOCHS, [collectionId])).map(keyEpochFromRow)
  },

  *insertKeyEpoch({ collectionId, epoch, createdBy, createdAt }) {
    yield* execute(sql.INSERT_KEY_EPOCH, [collectionId, epoch, createdBy, createdAt])
  },

  *getCollectionKeys(collectionId, epoch, userIds) {
    const found = []
    for (const chunk of chunks(userIds, IDS_PER_QUERY)) {
      const rows = yield* select<CollectionKeyRow>(sql.selectCollectionKeys(chunk.length), [collectionId, epoch, ...chunk])
      found.push(...rows.map(collectionKeyFromRow))
    }
    return found
  },

  *putCollectionKeys(keys) {
    // 7 columns a row: 500 rows stay far under every bound-parameter limit (chunks.ts).
    for (const chunk of chunks(keys, ROWS_PER_INSERT)) {
      yield* execute(sql.putCollectionKeys(chunk.length), chunk.flatMap(collectionKeyValues))
    }
  },

  *deleteUserCollectionKeys(collectionId, userId) {
    yield* execute(sql.DELETE_USER_COLLECTION_KEYS, [collectionId, userId])
  }
}
