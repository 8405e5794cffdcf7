/** Placeholder: built in its own branch. */
export function InvitationsView() {
  return (
    <section>
      <h1>Invitations</h1>
    </section>
  )
}
