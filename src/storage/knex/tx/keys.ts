import type { KeysTx } from '../../backend.js'
import { keyFromRow, type KeyRow } from '../rows.js'
import * as sql from '../sql/keys.js'
import { execute, select } from '../statements.js'

export const keysTx: KeysTx = {
  *getKey(userId, key) {
    const [row] = yield* select<KeyRow>(sql.SELECT_KEY, [userId, key])
    return row && keyFromRow(row)
  },

  *putKey(scope, response, at) {
    yield* execute(sql.PUT_KEY, [scope.userId, scope.key, scope.fingerprint, JSON.stringify(response), at, scope.expiresAt])
  },

  *putPendingKey(scope, claim, at) {
    yield* execute(sql.PUT_PENDING_KEY, [scope.userId, scope.key, scope.fingerprint, at, scope.expiresAt, claim.token, claim.pendingUntil])
  },

  *deleteKey(userId, key) {
    yield* execute(sql.DELETE_KEY, [userId, key])
  }
}
