import { useEffect, useRef, useState } from 'preact/hooks'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import type { Member, Role } from '../../services/members/members.shared.js'
import { ErrorText } from '../components/error-text.js'
import { RoleBadge, atLeast, grantable } from '../components/role-badge.js'
import { formatDateTime } from '../format.js'
import { useCollectionEvents } from '../state/live.js'
import { announce } from '../state/notice.js'
import { serverApi } from '../state/server.js'
import { session } from '../state/session.js'
import { LeaveDialog, RemoveDialog } from './member-dialogs.js'
import { InviteForm, SentInvitations } from './member-invitations.js'

type Confirming = { kind: 'remove'; member: Member } | { kind: 'leave' } | null

/**
 * The members tab of a collection (#/c/<id>/members): who has which role;
 * owners and admins change roles, remove members, invite by e-mail and
 * revoke pending invitations; anyone may leave.
 */
export function MembersPanel(props: { collectionId: string; role: Role }) {
  const { collectionId, role } = props
  const me = session.value?.userId
  const manages = atLeast(role, 'admin')
  const [members, setMembers] = useState<Member[] | null>(null)
  const [sent, setSent] = useState<Invitation[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [rowError, setRowError] = useState<{ userId: string; error: unknown } | null>(null)
  const [confirming, setConfirming] = useState<Confirming>(null)
  const heading = useRef<HTMLHeadingElement>(null)
  const loads = useRef(0)
  // While I am leaving, the member events that follow would only ask for what I may no longer see.
  const leaving = useRef(false)

  const load = async () => {
    if (leaving.current) return
    const mine = ++loads.current
    try {
      const api = serverApi()
      const [list, invitations] = await Promise.all([api.members(collectionId), manages ? api.sentInvitations(collectionId) : Promise.resolve(null)])
      if (mine !== loads.current) return
      setMembers(sortMembers(list, me))
      setSent(invitations)
      setError(null)
    } catch (caught) {
      if (mine === loads.current) setError(caught)
    }
  }

  useEffect(() => {
    void load()
  }, [collectionId, manages])
  useCollectionEvents((event) => {
    if (event.collectionId !== collectionId) return
    // Removed (or it was deleted): say so without asking the server, which would only answer 404.
    if (event.type === 'removed') setError({ code: 404, message: 'This collection is gone, or you are no longer one of its members.' })
    else if (event.type === 'member') void load()
  })

  const changeRole = async (member: Member, next: Role) => {
    setRowError(null)
    try {
      await serverApi().setRole(collectionId, member.userId, next)
      announce(`${member.email} is now ${next === 'admin' || next === 'owner' ? 'an' : 'a'} ${next}.`)
    } catch (caught) {
      setRowError({ userId: member.userId, error: caught })
    }
    await load()
  }

  const owners = members?.filter((m) => m.role === 'owner').length ?? 0

  return (
    <section aria-labelledby="members-title" class="members-panel">
      <h2 id="members-title" ref={heading} tabIndex={-1}>
        Members {members && <span class="muted count-inline">({members.length})</span>}
      </h2>
      {(error as { code?: unknown } | null)?.code === 404 ? (
        <p class="card">
          This collection is no longer yours to see: it was deleted, or you were removed from it. <a href="#/">Back to your collections</a>
        </p>
      ) : (
        <ErrorText error={error} />
      )}
      {members === null && !error && <p class="muted">Loading members…</p>}
      {members && (
        <ul class="member-list" data-testid="members">
          {members.map((member) => {
            const self = member.userId === me
            // Owners change anyone's role; admins anyone's but an owner's, and never to owner.
            const canChange = manages && !self && (role === 'owner' || member.role !== 'owner')
            const canRemove = canChange
            return (
              <li key={member.userId} class="member" data-member={member.email}>
                <div class="member-who">
                  <span class="member-email">{member.email}</span>
                  {self && <span class="badge accent">you</span>}
                  <span class="muted small">member since {formatDateTime(member.createdAt)}</span>
                </div>
                <div class="member-role">
                  {canChange ? (
                    <RoleChooser member={member} roles={grantable(role)} onSave={(next) => changeRole(member, next)} />
                  ) : (
                    <RoleBadge role={member.role} />
                  )}
                </div>
                <div class="member-actions">
                  {canRemove && (
                    <button type="button" class="small danger" onClick={() => setConfirming({ kind: 'remove', member })}>
                      Remove<span class="visually-hidden"> {member.email}</span>
                    </button>
                  )}
                  {self && (
                    <button
                      type="button"
                      class="small"
                      onClick={() => setConfirming({ kind: 'leave' })}
                      disabled={member.role === 'owner' && owners <= 1}
                      title={member.role === 'owner' && owners <= 1 ? 'The last owner cannot leave: make someone else an owner first, or delete the collection' : undefined}
                    >
                      Leave
                    </button>
                  )}
                </div>
                {rowError?.userId === member.userId && (
                  <div class="member-error">
                    <ErrorText error={rowError.error} />
                  </div>
                )}
              </li>
            )
          })}
        </ul>
      )}
      {members && me && members.some((m) => m.userId === me && m.role === 'owner') && owners <= 1 && (
        <p class="muted small">You are the only owner: to leave, make someone else an owner first (or delete the collection).</p>
      )}

      {manages && <InviteForm collectionId={collectionId} role={role} onInvited={() => void load()} />}
      {manages && sent && <SentInvitations invitations={sent} onRevoked={() => void load()} />}

      <RemoveDialog
        collectionId={collectionId}
        member={confirming?.kind === 'remove' ? confirming.member : null}
        onClose={() => setConfirming(null)}
        onRemoved={(member) => {
          setConfirming(null)
          announce(`Removed ${member.email}.`)
          heading.current?.focus()
          void load()
        }}
      />
      <LeaveDialog collectionId={collectionId} open={confirming?.kind === 'leave'} onClose={() => setConfirming(null)} leaving={(now) => (leaving.current = now)} />
    </section>
  )
}

/**
 * A member's role: pick in the select, then Save. Not applied on change: with
 * the keyboard, arrowing through a closed select fires a change per option,
 * and each would be a role given and taken away.
 */
function RoleChooser(props: { member: Member; roles: Role[]; onSave: (role: Role) => Promise<void> }) {
  const { member } = props
  const [picked, setPicked] = useState<Role>(member.role)
  const [busy, setBusy] = useState(false)
  const select = useRef<HTMLSelectElement>(null)
  useEffect(() => setPicked(member.role), [member.role])
  const id = `role-${member.userId}`
  const save = async () => {
    setBusy(true)
    try {
      await props.onSave(picked)
    } finally {
      setBusy(false)
      // The Save button goes once the role is saved: focus stays on this member's role rather than falling to the page.
      select.current?.focus()
    }
  }
  return (
    <div class="role-chooser">
      <label for={id} class="visually-hidden">
        Role of {member.email}
      </label>
      <select ref={select} id={id} value={picked} onChange={(e) => setPicked(e.currentTarget.value as Role)}>
        {props.roles.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      {picked !== member.role && (
        // aria-disabled rather than disabled while saving: a disabled button drops the keyboard focus to the page.
        <button type="button" class="small primary" aria-disabled={busy} onClick={() => busy || void save()}>
          {busy ? 'Saving…' : 'Save'}
          <span class="visually-hidden"> the role of {member.email}</span>
        </button>
      )}
    </div>
  )
}

/** Me first, then owners, admins, writers, readers; by e-mail within a role. */
function sortMembers(members: Member[], me: string | undefined): Member[] {
  const rank = (m: Member) => (m.userId === me ? -1 : ['owner', 'admin', 'writer', 'reader'].indexOf(m.role))
  return [...members].sort((a, b) => rank(a) - rank(b) || a.email.localeCompare(b.email))
}
