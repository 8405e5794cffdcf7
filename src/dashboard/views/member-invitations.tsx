import { useState } from 'preact/hooks'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import type { Role } from '../../services/members/members.shared.js'
import { ErrorText } from '../components/error-text.js'
import { ROLE_HELP, RoleBadge, grantable } from '../components/role-badge.js'
import { formatDateTime, formatRelative } from '../format.js'
import { announce } from '../state/notice.js'
import { serverApi } from '../state/server.js'
import { useAction } from '../state/use-action.js'

/* A collection's invitations, for its owners and admins: invite by e-mail with a role; the pending ones, revocable. */

export function InviteForm(props: { collectionId: string; role: Role; onInvited: () => void }) {
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('writer')
  const { busy, error, run } = useAction()
  const submit = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      const invitation = await serverApi().invite(props.collectionId, email.trim(), role)
      announce(`Invitation sent to ${invitation.inviteeEmail ?? email.trim()} as ${role}.`)
      setEmail('')
      props.onInvited()
    })
  }
  return (
    <form class="invite-form card" onSubmit={submit} aria-labelledby="invite-title">
      <h3 id="invite-title">Invite someone</h3>
      <div class="invite-fields">
        <div class="field grow">
          <label for="invite-email">E-mail</label>
          <input id="invite-email" type="email" name="invite-email" required autoComplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} placeholder="name@example.com" />
        </div>
        <div class="field">
          {/* Labelled by `for`, not by wrapping: a wrapping label would make the chosen option part of the select's name. */}
          <label for="invite-role">Role</label>
          <select id="invite-role" name="invite-role" value={role} aria-describedby="invite-role-help" onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {grantable(props.role).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send invitation'}
        </button>
      </div>
      <p id="invite-role-help" class="help">
        {role}: {ROLE_HELP[role]}. They see the invitation when they sign in with that address.
      </p>
      <ErrorText error={error} />
    </form>
  )
}

export function SentInvitations(props: { invitations: Invitation[]; onRevoked: () => void }) {
  const [error, setError] = useState<unknown>(null)
  const revoke = async (invitation: Invitation) => {
    setError(null)
    try {
      await serverApi().revokeInvitation(invitation.id)
      announce(`Invitation to ${invitation.inviteeEmail ?? 'them'} revoked.`)
      props.onRevoked()
    } catch (caught) {
      setError(caught)
    }
  }
  return (
    <section aria-labelledby="sent-title">
      <h3 id="sent-title">Pending invitations {<span class="muted count-inline">({props.invitations.length})</span>}</h3>
      {props.invitations.length === 0 ? (
        <p class="muted">None waiting.</p>
      ) : (
        <ul class="member-list" data-testid="sent-invitations">
          {props.invitations.map((invitation) => {
            const who = invitation.inviteeEmail ?? invitation.inviteeUserId ?? 'someone'
            return (
              <li key={invitation.id} class="member" data-invitation={who}>
                <div class="member-who">
                  <span class="member-email">{who}</span>
                  <span class="muted small">
                    expires <time dateTime={invitation.expiresAt} title={formatDateTime(invitation.expiresAt)}>{formatRelative(invitation.expiresAt)}</time>
                  </span>
                </div>
                <div class="member-role">
                  <RoleBadge role={invitation.role} />
                </div>
                <div class="member-actions">
                  <button type="button" class="small" onClick={() => void revoke(invitation)}>
                    Revoke<span class="visually-hidden"> the invitation to {who}</span>
                  </button>
                </div>
              </li>
            )
          })}
        </ul>
      )}
      <ErrorText error={error} />
    </section>
  )
}
