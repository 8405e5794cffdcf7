import type { UsersTx } from '../../backend.js'
import { userFromRow, type UserRow } from '../rows.js'
import * as sql from '../sql/users.js'
import { execute, select } from '../statements.js'

export const usersTx: UsersTx = {
  *takeUser(userId) {
    return (yield* execute(sql.TAKE_USER, [userId])) > 0
  },

  *getUser(userId) {
    const [row] = yield* select<UserRow>(sql.SELECT_USER, [userId])
    return row && userFromRow(row)
  }
}
