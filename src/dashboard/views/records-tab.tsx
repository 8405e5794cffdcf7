import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { Json, RecordView, Roost } from '../../client/index.js'
import type { Role } from '../../services/members/members.shared.js'
import { ChangePanel } from '../components/change-panel.js'
import { formatAbsolute, formatBytes, formatRelative, plural } from '../format.js'
import { RecordDialog } from '../components/record-dialog.js'
import { VirtualTable, type Column } from '../components/virtual-table.js'
import { useMemberEmails, whoIs } from '../state/members.js'
import { useNow } from '../state/now.js'
import { useRecordWindow, type RecordFilter } from '../state/record-window.js'

type Row = RecordView<Json>

const canWrite = (role: Role | null) => role !== 'reader'

/** "Showing 10,000 of 10,000 records", "12 matching of 10,000 records": never a silent cap. */
function countWords(matching: number, total: number, filtered: boolean, tombstones: boolean): string {
  const of = tombstones ? plural(total, 'record incl. tombstones', 'records incl. tombstones') : plural(total, 'record')
  return filtered ? `${matching.toLocaleString()} matching of ${of}` : `Showing ${matching.toLocaleString()} of ${of}`
}

export const stateOf = (row: Row): Array<{ label: string; tone: string }> => {
  const states: Array<{ label: string; tone: string }> = []
  if (row.conflict) states.push({ label: 'conflict', tone: 'danger' })
  else if (row.pending) states.push({ label: 'pending', tone: 'warn' })
  if (row.deleted) states.push({ label: 'deleted', tone: 'muted' })
  return states
}

/**
 * The records tab: the collection opened for syncing (live), its records in
 * a virtualized table read page by page from the local store as the user
 * scrolls (never the whole collection at once), a record dialog for viewing,
 * editing, deleting and resolving conflicts, and the live change panel.
 */
export function RecordsTab(props: { roost: Roost; collectionId: string; role: Role | null; encrypted: boolean }) {
  const { roost, collectionId } = props
  const collection = useMemo(() => roost.collection<Json>(collectionId, props.encrypted ? { create: false, encrypted: true } : { create: false }), [roost, collectionId, props.encrypted])
  const emails = useMemberEmails(roost, collectionId)
  const now = useNow(30_000)

  const [prefixInput, setPrefixInput] = useState('')
  const [prefix, setPrefix] = useState('')
  const [showDeleted, setShowDeleted] = useState(false)
  const [conflicts, setConflicts] = useState<string[]>([])
  const [open, setOpen] = useState<{ id: string | null } | null>(null)
  const [changeTick, setChangeTick] = useState(0)
  const [firstSync, setFirstSync] = useState<{ done: boolean; loaded: number; total: number | null }>({ done: false, loaded: 0, total: null })

  // The dialog is removed on close, not closed by the browser: give focus back to what opened it (a row, a button) ourselves.
  const opener = useRef<HTMLElement | null>(null)
  const openRecord = (id: string | null) => {
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null
    setOpen({ id })
  }
  const closeRecord = () => {
    setOpen(null)
    const target = opener.current
    requestAnimationFrame(() => target?.isConnected && target.focus({ preventScroll: true }))
  }

  const filter = useMemo<RecordFilter>(() => ({ idPrefix: prefix || undefined, includeDeleted: showDeleted }), [prefix, showDeleted])
  const { counts, rowAt, onRange, reread } = useRecordWindow(collection, filter)

  // Something changed (a server change, a local write, an outcome): re-read the visible rows and the counts, at most every 150 ms.
  const refresh = useRef<() => void>(() => undefined)
  refresh.current = () => {
    reread()
    void roost.store.listPendingRecords().then((records) =>
      setConflicts(
        records
          .filter((record) => record.collectionId === collectionId && record.conflict)
          .map((record) => record.id)
          .sort()
      )
    )
    setChangeTick((n) => n + 1)
  }
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const soon = () => {
      if (timer === undefined) timer = setTimeout(() => ((timer = undefined), refresh.current()), 150)
    }
    const offs = [
      roost.onServerChange((change) => change.collectionId === collectionId && soon()),
      roost.onOutcome((outcome) => outcome.collectionId === collectionId && soon()),
      roost.status.subscribe((status) => {
        soon()
        // Offline or stopped: what this device holds is all there is for now; stop saying "loading".
        if (status.fatal || status.error?.code === 0) setFirstSync((state) => (state.done ? state : { ...state, done: true }))
      }),
      roost.onProgress((progress) => {
        if (progress.phase !== 'pull' || progress.collectionId !== collectionId) return
        setFirstSync((state) => (state.done ? state : { done: false, loaded: progress.done, total: progress.total }))
      })
    ]
    refresh.current()
    // Until the collection has been pulled once, an empty table means "not loaded yet", not "no records".
    roost.whenSynced().then(
      () => setFirstSync((state) => ({ ...state, done: true })),
      () => setFirstSync((state) => ({ ...state, done: true }))
    )
    return () => {
      clearTimeout(timer)
      for (const off of offs) off()
    }
  }, [roost, collectionId])

  // The filter box: typed prefixes apply after a short pause, not on every key.
  useEffect(() => {
    const timer = setTimeout(() => setPrefix(prefixInput.trim()), 200)
    return () => clearTimeout(timer)
  }, [prefixInput])

  const columns: Array<Column<Row>> = [
    { key: 'id', label: 'Id', width: '28%', class: 'mono cell-id', render: (row) => row.id },
    { key: 'version', label: 'Version', width: '6rem', class: 'num', render: (row) => row.serverVersion ?? '—' },
    {
      key: 'updated',
      label: 'Updated',
      width: '9.5rem',
      wide: true,
      render: (row) => <time title={formatAbsolute(row.updatedAt)}>{formatRelative(row.updatedAt, now)}</time>
    },
    { key: 'by', label: 'By', width: '28%', wide: true, render: (row) => <span title={row.updatedBy ?? undefined}>{whoIs(emails, row.updatedBy)}</span> },
    { key: 'size', label: 'Size', width: '6rem', class: 'num', wide: true, render: (row) => (row.deleted ? '—' : formatBytes(row.size)) },
    {
      key: 'state',
      label: 'State',
      width: '7.5rem',
      render: (row) => {
        const states = stateOf(row)
        if (states.length === 0) return <span class="synced">synced</span>
        return states.map((state) => (
          <span key={state.label} class={`badge ${state.tone}`}>
            {state.label}
          </span>
        ))
      }
    }
  ]

  const matching = counts?.matching ?? 0
  const countText = counts === null ? 'Counting…' : countWords(counts.matching, counts.total, prefix !== '', showDeleted)
  const writable = canWrite(props.role)

  // Screen readers hear the count once after the filter changes, not at every live change of the table.
  const [announcement, setAnnouncement] = useState('')
  const announceFor = useRef<unknown>(null)
  useEffect(() => {
    if (counts?.filter !== filter || announceFor.current === filter) return
    announceFor.current = filter
    setAnnouncement(countText)
  }, [counts, filter, countText])

  return (
    <div class="records-layout">
      <div class="records-main">
        <div class="toolbar">
          <label class="inline filter">
            <span>Filter by id prefix</span>
            <input type="search" value={prefixInput} onInput={(e) => setPrefixInput(e.currentTarget.value)} placeholder="e.g. note-" autoComplete="off" spellcheck={false} />
          </label>
          <label class="inline">
            <input type="checkbox" checked={showDeleted} onChange={(e) => setShowDeleted(e.currentTarget.checked)} />
            <span>Show deleted</span>
          </label>
          <span class="grow" />
          {writable && (
            <button type="button" class="primary" onClick={() => openRecord(null)}>
              New record
            </button>
          )}
        </div>
        <p class="sr-only" role="status">
          {announcement}
        </p>
        <p class="counts" data-testid="record-counts">
          {countText}
          {conflicts.length > 0 && (
            <>
              {' · '}
              <span class="conflict-count" data-testid="conflict-count">
                {plural(conflicts.length, 'conflict')} to resolve:
              </span>{' '}
              {conflicts.slice(0, 5).map((id) => (
                <button key={id} type="button" class="link mono" onClick={() => openRecord(id)}>
                  {id}
                </button>
              ))}
              {conflicts.length > 5 && ` and ${conflicts.length - 5} more`}
            </>
          )}
        </p>
        {!firstSync.done && (
          <p class="loading-line" data-testid="records-loading">
            Loading from the server{firstSync.loaded > 0 ? `: ${firstSync.loaded.toLocaleString()}${firstSync.total !== null ? ` of ${firstSync.total.toLocaleString()}` : ''} records` : '…'}
            {firstSync.total ? <progress max={firstSync.total} value={firstSync.loaded} aria-label="Records loaded" /> : <progress aria-label="Loading records" />}
          </p>
        )}
        {!writable && <p class="muted small">You can read this collection (your role: reader).</p>}
        <VirtualTable<Row>
          label={`Records of ${collectionId}`}
          columns={columns}
          count={matching}
          rowAt={rowAt}
          rowClass={(row) => [row.conflict ? 'is-conflict' : '', row.deleted ? 'is-deleted' : '', row.pending ? 'is-pending' : ''].join(' ').trim() || undefined}
          rowLabel={(row) => `${row.id}, version ${row.serverVersion ?? 'none'}${stateOf(row).map((state) => `, ${state.label}`).join('')}`}
          onRange={onRange}
          onOpen={(row) => openRecord(row.id)}
          resetKey={filter}
          empty={
            counts === null || !firstSync.done ? (
              'Loading…'
            ) : prefix ? (
              <>No record id starts with “{prefix}”.</>
            ) : (
              <>No records yet.{writable ? ' Create one with “New record”.' : ''}</>
            )
          }
        />
      </div>
      <ChangePanel roost={roost} collectionId={collectionId} emails={emails} onOpen={openRecord} />
      {open && (
        <RecordDialog
          collection={collection}
          id={open.id}
          writable={writable}
          encrypted={props.encrypted}
          emails={emails}
          changeTick={changeTick}
          onChanged={() => refresh.current()}
          onClose={closeRecord}
        />
      )}
    </div>
  )
}
