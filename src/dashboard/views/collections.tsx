/** Placeholder: built in its own branch. */
export function CollectionsView() {
  return (
    <section>
      <h1>Collections</h1>
    </section>
  )
}
