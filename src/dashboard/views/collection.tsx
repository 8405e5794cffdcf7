/** Placeholder: built in its own branch (records, members, locks of one collection). */
export function CollectionView(props: { id: string; tab: 'records' | 'members' | 'locks' }) {
  return (
    <section>
      <h1>{props.id}</h1>
      <p>{props.tab}</p>
    </section>
  )
}
