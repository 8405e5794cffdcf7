import type { Role } from '../../services/members/members.shared.js'

/** TEMPORARY: stands in for views/members.tsx (branch dash-shell) until it is merged; collection.tsx imports it in one line. */
export function MembersPanel(props: { collectionId: string; role: Role }) {
  return (
    <p class="muted">
      Members of <code>{props.collectionId}</code> (your role: {props.role}) are shown here.
    </p>
  )
}
