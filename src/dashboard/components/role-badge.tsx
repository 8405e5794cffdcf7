import type { Role } from '../../services/members/members.shared.js'

export const ROLES: Role[] = ['owner', 'admin', 'writer', 'reader']

export const ROLE_HELP: Record<Role, string> = {
  owner: 'everything, including deleting the collection',
  admin: 'manages members and invitations, reads and writes',
  writer: 'reads and writes records',
  reader: 'reads records'
}

const RANK: Record<Role, number> = { owner: 4, admin: 3, writer: 2, reader: 1 }
export const atLeast = (role: Role, needed: Role) => RANK[role] >= RANK[needed]

/** The roles `role` may give others: owners any, admins any but owner, others none. */
export const grantable = (role: Role): Role[] => (role === 'owner' ? ROLES : role === 'admin' ? ROLES.filter((r) => r !== 'owner') : [])

/** The caller's role in a collection, as a small label (the word itself, never colour alone). */
export function RoleBadge(props: { role: Role }) {
  return (
    <span class={`badge role role-${props.role}`} title={`${props.role}: ${ROLE_HELP[props.role]}`}>
      {props.role}
    </span>
  )
}

export function EncryptedBadge() {
  return (
    <span class="badge encrypted" title="End-to-end encrypted: the server holds only ciphertext">
      <span aria-hidden="true">🔒 </span>encrypted
    </span>
  )
}
