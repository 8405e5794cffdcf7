/** Placeholder: built in its own branch. */
export function AccountView() {
  return (
    <section>
      <h1>Account</h1>
    </section>
  )
}
