/** Placeholder: built in its own branch. */
export function OperatorView() {
  return (
    <section>
      <h1>Operator</h1>
    </section>
  )
}
