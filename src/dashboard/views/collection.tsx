import { useEffect, useState } from 'preact/hooks'
import type { Collection } from '../../services/collections/collections.shared.js'
import { ErrorText } from '../components/error-text.js'
import { labelOf } from '../format.js'
import { hrefOf } from '../router.js'
import { serverApi } from '../state/server.js'
import { MembersPanel } from './members.js'

/**
 * Placeholder (branch dash-records owns this file and replaces it): only
 * enough of a collection's page to host the members tab of branch dash-shell.
 */
export function CollectionView(props: { id: string; tab: 'records' | 'members' | 'locks' }) {
  const [collection, setCollection] = useState<Collection | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    serverApi().collection(props.id).then(setCollection, setError)
  }, [props.id])
  const tabs = ['records', 'members', 'locks'] as const
  return (
    <section>
      <h1>{collection ? labelOf(collection) : props.id}</h1>
      <nav class="tabs" aria-label="Collection">
        {tabs.map((tab) => (
          <a key={tab} href={hrefOf({ name: 'collection', id: props.id, tab })} aria-current={props.tab === tab ? 'page' : undefined}>
            {tab[0]!.toUpperCase() + tab.slice(1)}
          </a>
        ))}
      </nav>
      <ErrorText error={error} />
      {props.tab === 'members' && collection && <MembersPanel collectionId={props.id} role={collection.role} />}
    </section>
  )
}
