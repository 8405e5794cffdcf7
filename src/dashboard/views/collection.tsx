import { useEffect, useState } from 'preact/hooks'
import type { Collection } from '../../services/collections/collections.shared.js'
import { messageOf } from '../components/error-text.js'
import { ExportButton } from '../components/export-button.js'
import { EncryptedBadge, RoleBadge } from '../components/role-badge.js'
import { labelOf } from '../format.js'
import { hrefOf } from '../router.js'
import { serverApi } from '../state/server.js'
import { session } from '../state/session.js'
import { departing } from '../state/live.js'
import { LocksTab } from './locks-tab.js'
import { MembersPanel } from './members.js'
import { OpaqueRecords } from './opaque-records.js'
import { RecordsTab } from './records-tab.js'
import './collection.css'

type Tab = 'records' | 'members' | 'locks'
type Info = Collection & { encrypted: boolean }

const TABS: Array<{ tab: Tab; label: string }> = [
  { tab: 'records', label: 'Records' },
  { tab: 'members', label: 'Members' },
  { tab: 'locks', label: 'Locks and batches' }
]

/**
 * One collection (#/c/<id>): its header, and the tabs records, members,
 * locks. An encrypted collection is opened for syncing only once this
 * device holds the account's keys; before that its records are shown as
 * the server holds them, opaque.
 */
export function CollectionView(props: { id: string; tab: Tab }) {
  const roost = session.value?.roost
  const [info, setInfo] = useState<Info | null>(null)
  const [error, setError] = useState<{ code: number | null; message: string } | null>(null)
  const [keys, setKeys] = useState<'ready' | 'missing' | null>(null)
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    if (!roost) return
    let stopped = false
    let unanswered = false
    const load = () =>
      departing.has(props.id)
        ? Promise.resolve()
        : serverApi()
        .collection(props.id)
        .then((next) => {
          if (stopped) return
          unanswered = false
          setInfo(next)
          setError(null)
        })
        .catch((caught: unknown) => {
          if (stopped) return
          const code = caught && typeof caught === 'object' && 'code' in caught && typeof caught.code === 'number' ? caught.code : null
          unanswered = code === 0
          setError({ code, message: messageOf(caught) })
        })
    void load()
    // A rename, a new role, the collection gone or newly encrypted: read it again.
    const off = roost.onCollectionEvent((event) => {
      if (event.collectionId !== props.id) return
      if (event.type === 'removed') {
        // We left, were removed, or it was deleted: nothing is left to read (asking would only get a 404).
        unanswered = false
        setError({ code: 404, message: 'This collection is gone, or you are no longer one of its members.' })
        return
      }
      void load()
    })
    // No answer (offline, the server restarting): ask again once the client reaches the server, and every few seconds.
    const offStatus = roost.status.subscribe((status) => unanswered && status.connected && void load())
    const retry = setInterval(() => unanswered && void load(), 5000)
    return () => {
      stopped = true
      off()
      offStatus()
      clearInterval(retry)
    }
  }, [roost, props.id, attempt])

  // Whether this device can read an encrypted collection; checked again every few seconds while it cannot (unlocked elsewhere: the account page, another tab).
  useEffect(() => {
    if (!roost || !info?.encrypted) return
    let stopped = false
    const check = () =>
      roost.account
        .status()
        .then((status) => !stopped && setKeys(status))
        .catch(() => !stopped && setKeys('missing'))
    void check()
    const timer = setInterval(() => void check(), 3000)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [roost, info?.encrypted])

  // The tab's title names the collection (browser tabs, history, screen readers on arrival).
  const title = info ? labelOf(info) : props.id
  useEffect(() => {
    const before = document.title
    document.title = `${title} · Roost`
    return () => void (document.title = before)
  }, [title])

  if (!roost) return null
  if (error?.code === 404 || error?.code === 403) {
    return (
      <section>
        <h1>Collection not found</h1>
        <p>
          There is no collection <code>{props.id}</code>, or it is not shared with you. <a href="#/">Back to your collections</a>.
        </p>
      </section>
    )
  }

  // Offline (no answer at all): open what this device holds. Any other failure: say so, and offer to try again.
  const offline = error?.code === 0 && info === null
  if (error && info === null && !offline) {
    return (
      <section>
        <h1>{props.id}</h1>
        <p class="error" role="alert">
          Could not read this collection: {error.message}
        </p>
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>
          Try again
        </button>
      </section>
    )
  }
  const locked = info?.encrypted === true && keys !== 'ready'
  return (
    <section class="collection" aria-labelledby="collection-title">
      <header class="collection-header">
        <div class="title-block">
          <p class="crumbs">
            <a href="#/">Collections</a> /
          </p>
          <h1 id="collection-title">{title}</h1>
          <p class="meta">
            {info?.name && (
              <code class="mono" title="Collection id">
                {props.id}
              </code>
            )}
            {info && <RoleBadge role={info.role} />}
            {info?.encrypted &&
              (locked ? (
                <span class="badge encrypted" title="End-to-end encrypted; this device does not hold the key yet">
                  encrypted · locked
                </span>
              ) : (
                <EncryptedBadge />
              ))}
          </p>
        </div>
        <div class="header-actions">
          <ExportButton collectionId={props.id} encrypted={info?.encrypted === true} />
        </div>
      </header>
      {offline && <p class="callout warn">The server cannot be reached; showing what this device holds.</p>}
      <nav class="tabs" aria-label="Collection">
        {TABS.map(({ tab, label }) => (
          <a key={tab} href={hrefOf({ name: 'collection', id: props.id, tab })} aria-current={props.tab === tab ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {props.tab === 'records' &&
        (info === null && !offline ? (
          <p class="muted">Loading…</p>
        ) : locked ? (
          keys === null ? <p class="muted">Checking this device's keys…</p> : <OpaqueRecords roost={roost} collectionId={props.id} onUnlocked={() => setKeys('ready')} />
        ) : (
          <RecordsTab roost={roost} collectionId={props.id} role={info?.role ?? null} encrypted={info?.encrypted === true} />
        ))}
      {props.tab === 'members' && (info ? <MembersPanel collectionId={props.id} role={info.role} /> : <p class="muted">Members are shown when the server can be reached.</p>)}
      {props.tab === 'locks' && <LocksTab roost={roost} collectionId={props.id} role={info?.role ?? 'reader'} />}
    </section>
  )
}
