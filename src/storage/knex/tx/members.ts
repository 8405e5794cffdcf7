import type { MembersTx } from '../../backend.js'
import type { MemberRole } from '../../types.js'
import { memberFromRow, type MemberWithEmailRow } from '../rows.js'
import * as sql from '../sql/members.js'
import { execute, select } from '../statements.js'

export const membersTx: MembersTx = {
  *getMember(collectionId, userId) {
    const [row] = yield* select<MemberWithEmailRow>(sql.SELECT_MEMBER, [collectionId, userId])
    return row && memberFromRow(row)
  },

  *ownerIds(collectionId) {
    return (yield* select<{ user_id: string }>(sql.SELECT_OWNER_IDS, [collectionId])).map((row) => row.user_id)
  },

  *memberRoles(collectionId) {
    const rows = yield* select<{ user_id: string; role: string }>(sql.SELECT_MEMBER_ROLES, [collectionId])
    return rows.map((row) => ({ userId: row.user_id, role: row.role as MemberRole }))
  },

  *countOwned(userId) {
    const [row] = yield* select<{ count: number | string }>(sql.COUNT_OWNED, [userId])
    return Number(row.count)
  },

  *insertMember({ collectionId, userId, role, at }) {
    yield* execute(sql.INSERT_MEMBER, [collectionId, userId, role, at, at])
  },

  *setMemberRole(collectionId, userId, role, at) {
    yield* execute(sql.SET_MEMBER_ROLE, [role, at, collectionId, userId])
  },

  *deleteMember(collectionId, userId) {
    yield* execute(sql.DELETE_MEMBER, [collectionId, userId])
  }
}
