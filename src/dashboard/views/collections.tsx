import { useEffect, useRef, useState } from 'preact/hooks'
import type { Collection } from '../../services/collections/collections.shared.js'
import { EncryptedBadge, RoleBadge, atLeast } from '../components/role-badge.js'
import { ErrorText } from '../components/error-text.js'
import { ExportButton } from '../components/export-button.js'
import { CreateCollectionDialog, DeleteCollectionDialog, RenameCollectionDialog } from './collection-dialogs.js'
import { formatDate, labelOf, plural } from '../format.js'
import { hrefOf } from '../router.js'
import { pendingInvitations, refreshInvitations } from '../state/invitations.js'
import { useCollectionEvents } from '../state/live.js'
import { announce } from '../state/notice.js'
import { serverApi } from '../state/server.js'

/** How many collections get an "encrypted" badge looked up (one request each); beyond, none is shown. */
const ENCRYPTION_LOOKUPS = 100

type Dialogs = { kind: 'create' } | { kind: 'rename'; collection: Collection } | { kind: 'delete'; collection: Collection } | null

/** #/: the collections I own and those shared with me, with my role; create, rename, delete. */
export function CollectionsView() {
  const [collections, setCollections] = useState<Collection[] | null>(null)
  const [encrypted, setEncrypted] = useState<Record<string, boolean>>({})
  const [error, setError] = useState<unknown>(null)
  const [dialog, setDialog] = useState<Dialogs>(null)
  const heading = useRef<HTMLHeadingElement>(null)
  // After an action, where focus goes once the list is drawn again (a collection's link, or the heading).
  const focusNext = useRef<string | null>(null)
  const loads = useRef(0)
  const asked = useRef(new Set<string>())

  const load = async () => {
    const mine = ++loads.current
    try {
      const list = await serverApi().collections()
      if (mine !== loads.current) return
      setCollections(list)
      setError(null)
      // Each collection is looked up once per visit: whether it is encrypted does not change back.
      const unknown = list.slice(0, ENCRYPTION_LOOKUPS).filter((c) => !asked.current.has(c.id))
      for (const c of unknown) asked.current.add(c.id)
      void lookUpEncryption(unknown, setEncrypted)
    } catch (caught) {
      if (mine === loads.current) setError(caught)
    }
  }

  useEffect(() => {
    void load()
    void refreshInvitations()
  }, [])
  useCollectionEvents(() => void load())

  useEffect(() => {
    const target = focusNext.current
    if (target === null || collections === null) return
    focusNext.current = null
    const link = target === '' ? null : document.querySelector<HTMLElement>(`[data-collection-link="${CSS.escape(target)}"]`)
    ;(link ?? heading.current)?.focus()
  }, [collections])

  // The list changes at once (the reload that follows confirms it), so what is announced is already what is shown.
  const done = (message: string, focus: string, change: (list: Collection[]) => Collection[]) => {
    setCollections((list) => (list ? change(list) : list))
    setDialog(null)
    announce(message)
    focusNext.current = focus
    void load()
  }

  // By what the person reads (name, else id), as a person would look for it.
  const sorted = [...(collections ?? [])].sort((a, b) => labelOf(a).localeCompare(labelOf(b), undefined, { sensitivity: 'base', numeric: true }))
  const owned = sorted.filter((c) => c.role === 'owner')
  const shared = sorted.filter((c) => c.role !== 'owner')
  const invitations = pendingInvitations.value?.length ?? 0

  return (
    <section aria-labelledby="collections-title">
      <div class="page-head">
        <h1 id="collections-title" ref={heading} tabIndex={-1}>
          Collections
        </h1>
        <div class="header-actions">
          <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
            New collection
          </button>
          <ExportButton />
        </div>
      </div>

      <div aria-live="polite">
        {invitations > 0 && (
          <p class="banner">
            <span aria-hidden="true" class="banner-icon">
              ✉
            </span>
            <span>
              You have {plural(invitations, 'pending invitation')}. <a href="#/invitations">Review {invitations === 1 ? 'it' : 'them'}</a>
            </span>
          </p>
        )}
      </div>

      <ErrorText error={error} />
      {collections === null && !error && <p class="muted">Loading collections…</p>}
      {collections !== null && collections.length === 0 && (
        <div class="empty-state card">
          <h2>No collections yet</h2>
          <p class="muted">A collection holds records that sync between your devices and the people you share it with.</p>
          <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
            Create your first collection
          </button>
        </div>
      )}
      {owned.length > 0 && (
        <CollectionList title="Owned by you" id="owned" items={owned} encrypted={encrypted} onRename={(c) => setDialog({ kind: 'rename', collection: c })} onDelete={(c) => setDialog({ kind: 'delete', collection: c })} />
      )}
      {shared.length > 0 && (
        <CollectionList title="Shared with you" id="shared" items={shared} encrypted={encrypted} onRename={(c) => setDialog({ kind: 'rename', collection: c })} onDelete={(c) => setDialog({ kind: 'delete', collection: c })} />
      )}

      <CreateCollectionDialog open={dialog?.kind === 'create'} onClose={() => setDialog(null)} onCreated={(c) => done(`Created collection “${labelOf(c)}”.`, c.id, (list) => [c, ...list.filter((x) => x.id !== c.id)])} />
      <RenameCollectionDialog
        collection={dialog?.kind === 'rename' ? dialog.collection : null}
        onClose={() => setDialog(null)}
        onRenamed={(c) => done(`Renamed to “${labelOf(c)}”.`, c.id, (list) => list.map((x) => (x.id === c.id ? c : x)))}
      />
      <DeleteCollectionDialog
        collection={dialog?.kind === 'delete' ? dialog.collection : null}
        onClose={() => setDialog(null)}
        onDeleted={(c) => done(`Deleted collection “${labelOf(c)}” and everything in it.`, '', (list) => list.filter((x) => x.id !== c.id))}
      />
    </section>
  )
}

function CollectionList(props: {
  title: string
  id: string
  items: Collection[]
  encrypted: Record<string, boolean>
  onRename: (collection: Collection) => void
  onDelete: (collection: Collection) => void
}) {
  return (
    <section aria-labelledby={`${props.id}-title`} class="collection-group">
      <h2 id={`${props.id}-title`}>
        {props.title} <span class="muted count-inline">({props.items.length})</span>
      </h2>
      <ul class="collection-list" data-testid={`collections-${props.id}`}>
        {props.items.map((collection) => {
          const label = labelOf(collection)
          return (
            <li key={collection.id} class="collection-item" data-collection={collection.id}>
              <div class="collection-main">
                <a class="collection-name" href={hrefOf({ name: 'collection', id: collection.id, tab: 'records' })} data-collection-link={collection.id}>
                  {label}
                </a>
                {collection.name !== null && <code class="collection-id">{collection.id}</code>}
              </div>
              <div class="collection-meta">
                <RoleBadge role={collection.role} />
                {props.encrypted[collection.id] && <EncryptedBadge />}
                <span class="muted small">Updated {formatDate(collection.updatedAt)}</span>
              </div>
              <div class="collection-actions">
                {atLeast(collection.role, 'admin') && (
                  <button type="button" class="small" onClick={() => props.onRename(collection)}>
                    Rename<span class="visually-hidden"> {label}</span>
                  </button>
                )}
                {collection.role === 'owner' && (
                  <button type="button" class="small danger" onClick={() => props.onDelete(collection)}>
                    Delete<span class="visually-hidden"> {label}</span>
                  </button>
                )}
              </div>
            </li>
          )
        })}
      </ul>
    </section>
  )
}

/** Whether each collection is end-to-end encrypted: one request each, a few at a time; failures just show no badge. */
async function lookUpEncryption(list: Collection[], set: (update: (current: Record<string, boolean>) => Record<string, boolean>) => void) {
  const queue = [...list]
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const id = next.id
      const encrypted = await serverApi()
        .collection(id)
        .then((c) => c.encrypted)
        .catch(() => null)
      if (encrypted !== null) set((current) => (current[id] === encrypted ? current : { ...current, [id]: encrypted }))
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
}
