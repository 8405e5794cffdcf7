import type { InvitationsTx } from '../../backend.js'
import { invitationKeysOf, invitationKeysText } from '../../invitation-keys.js'
import { chunks, IDS_PER_QUERY } from '../chunks.js'
import { invitationFromRow, type InvitationRow } from '../rows.js'
import * as sql from '../sql/invitations.js'
import { execute, select } from '../statements.js'

export const invitationsTx: InvitationsTx = {
  *getInvitation(id, now) {
    const [row] = yield* select<InvitationRow>(sql.SELECT_INVITATION, [id])
    return row && invitationFromRow(row, now)
  },

  *insertInvitation(invitation, at) {
    const { id, collectionId, role, inviteeUserId, inviteeEmail, invitedBy, expiresAt, keys } = invitation
    yield* execute(sql.INSERT_INVITATION, [id, collectionId, role, inviteeUserId, inviteeEmail, invitedBy, at, expiresAt, invitationKeysText(keys)])
  },

  *invitationKeys(id) {
    const [row] = yield* select<{ keys: string | null }>(sql.SELECT_INVITATION_KEYS, [id])
    return invitationKeysOf(row?.keys)
  },

  *pendingInvitationIds(collectionId, { userId, email }) {
    return (yield* select<{ id: string }>(sql.SELECT_PENDING_INVITATION_IDS, [collectionId, userId, email])).map((row) => row.id)
  },

  *pendingInvitationStats(collectionId, now) {
    const [row] = yield* select<{ count: number | string; first_expiry: string | null }>(sql.PENDING_INVITATION_STATS, [collectionId, now])
    return { count: Number(row.count), firstExpiry: row.first_expiry }
  },

  *closeInvitations(ids, { status, at, inviteeUserId }) {
    for (const chunk of chunks(ids, IDS_PER_QUERY)) {
      yield* execute(sql.closeInvitations(chunk.length), [status, at, inviteeUserId ?? null, ...chunk])
    }
  }
}
