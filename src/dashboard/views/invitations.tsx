import { useEffect, useRef, useState } from 'preact/hooks'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import { ErrorText } from '../components/error-text.js'
import { EncryptedBadge, ROLE_HELP, RoleBadge } from '../components/role-badge.js'
import { formatDateTime, formatRelative } from '../format.js'
import { hrefOf } from '../router.js'
import { invitationsError, pendingInvitations, refreshInvitations } from '../state/invitations.js'
import { useWhileVisible } from '../state/live.js'
import { announce } from '../state/notice.js'
import { serverApi } from '../state/server.js'
import { session } from '../state/session.js'

/** How often the list is asked again while the page is visible: invitations have no realtime event of their own. */
const POLL_MS = 15_000

/** #/invitations: the pending invitations to me; accept (the collection joins #/) or decline. */
export function InvitationsView() {
  const [answered, setAnswered] = useState<{ invitation: Invitation; accepted: boolean } | null>(null)
  const [error, setError] = useState<{ id: string; error: unknown } | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const heading = useRef<HTMLHeadingElement>(null)
  // An encrypted collection's records open only with this browser's keys: say so before accepting, not after.
  const [keys, setKeys] = useState<'ready' | 'missing' | null>(null)

  useEffect(() => {
    void refreshInvitations()
    session.value?.roost.account.status().then(setKeys, () => setKeys(null))
  }, [])
  useWhileVisible(() => void refreshInvitations(), POLL_MS)

  const answer = async (invitation: Invitation, accept: boolean) => {
    setBusy(invitation.id)
    setError(null)
    try {
      const api = serverApi()
      await (accept ? api.acceptInvitation(invitation.id) : api.declineInvitation(invitation.id))
      const name = invitation.collectionName ?? invitation.collectionId
      // Answered: off the list at once (the refresh below confirms what else changed).
      pendingInvitations.value = pendingInvitations.value?.filter((i) => i.id !== invitation.id) ?? null
      announce(accept ? `You joined “${name}” as ${invitation.role}.` : `Declined the invitation to “${name}”.`)
      setAnswered({ invitation, accepted: accept })
      await refreshInvitations()
      // The answered card is gone: focus the heading, so keyboard users do not start over from the top of the page.
      heading.current?.focus()
    } catch (caught) {
      setError({ id: invitation.id, error: caught })
    } finally {
      setBusy(null)
    }
  }

  const list = pendingInvitations.value
  return (
    <section aria-labelledby="invitations-title">
      <div class="page-head">
        <h1 id="invitations-title" ref={heading} tabIndex={-1}>
          Invitations
        </h1>
        <button type="button" onClick={() => void refreshInvitations()}>
          Refresh
        </button>
      </div>
      {answered?.accepted && (
        <p class="banner">
          <span>
            “{answered.invitation.collectionName ?? answered.invitation.collectionId}” is now in <a href="#/">your collections</a>.{' '}
            <a href={hrefOf({ name: 'collection', id: answered.invitation.collectionId, tab: 'records' })}>Open it</a>
          </span>
        </p>
      )}
      <ErrorText error={invitationsError.value} />
      {list === null && !invitationsError.value && <p class="muted">Loading invitations…</p>}
      {list !== null && list.length === 0 && (
        <div class="empty-state card">
          <h2>No pending invitations</h2>
          <p class="muted">When someone invites you to a collection, it shows up here, and in the menu.</p>
        </div>
      )}
      {list !== null && list.length > 0 && (
        <ul class="invitation-list" data-testid="invitations">
          {list.map((invitation) => {
            const name = invitation.collectionName ?? invitation.collectionId
            return (
              <li key={invitation.id} class="card invitation" data-invitation={invitation.collectionId} aria-labelledby={`inv-${invitation.id}`}>
                <div class="invitation-head">
                  <h2 id={`inv-${invitation.id}`}>{name}</h2>
                  <RoleBadge role={invitation.role} />
                  {invitation.keyEpochs.length > 0 && <EncryptedBadge />}
                </div>
                <dl class="facts">
                  {invitation.collectionName !== null && (
                    <>
                      <dt>Id</dt>
                      <dd>
                        <code>{invitation.collectionId}</code>
                      </dd>
                    </>
                  )}
                  <dt>Invited by</dt>
                  <dd>{inviterOf(invitation)}</dd>
                  <dt>As</dt>
                  <dd>
                    {invitation.role} — {ROLE_HELP[invitation.role]}
                  </dd>
                  <dt>Expires</dt>
                  <dd>
                    <time dateTime={invitation.expiresAt}>{formatRelative(invitation.expiresAt)}</time> <span class="muted">({formatDateTime(invitation.expiresAt)})</span>
                  </dd>
                </dl>
                {invitation.keyEpochs.length > 0 && keys === 'missing' && (
                  <p class="help">
                    Encrypted: to read it here, this browser needs your <a href="#/account">encryption keys</a>.
                  </p>
                )}
                {error?.id === invitation.id && <ErrorText error={error.error} />}
                <div class="actions">
                  <button type="button" class="primary" disabled={busy !== null} onClick={() => void answer(invitation, true)}>
                    Accept<span class="visually-hidden"> the invitation to {name}</span>
                  </button>
                  <button type="button" disabled={busy !== null} onClick={() => void answer(invitation, false)}>
                    Decline<span class="visually-hidden"> the invitation to {name}</span>
                  </button>
                </div>
              </li>
            )
          })}
        </ul>
      )}
    </section>
  )
}

/** The server names the inviter by user id only (no e-mail before one joins); an e-mail is shown when the server sends one. */
function inviterOf(invitation: Invitation): string {
  const email = (invitation as Invitation & { invitedByEmail?: unknown }).invitedByEmail
  return typeof email === 'string' ? email : `a member of the collection (user ${invitation.invitedBy.slice(0, 8)}…)`
}
