import { useEffect, useState } from 'preact/hooks'
import type { Collection, Json, RecordView } from '../../client/index.js'
import { whoIs } from '../state/members.js'
import { Dialog } from './dialog.js'
import { ErrorText } from './error-text.js'
import { formatAbsolute, formatRelative } from '../format.js'
import { JsonEditor, parseJson, prettyJson } from './json-editor.js'

type Mode = 'view' | 'edit' | 'delete' | 'merge'

interface Props {
  collection: Collection<Json>
  /** null: a new record. */
  id: string | null
  writable: boolean
  encrypted: boolean
  emails: ReadonlyMap<string, string>
  /** Bumped by the parent whenever the collection changed: the record is read again. */
  changeTick: number
  onChanged(): void
  onClose(): void
}

/**
 * One record: its JSON, and (for writers) edit, delete and — when a write
 * of ours lost against someone else's — the conflict, both sides shown,
 * settled only by an explicit choice. Every write goes through the
 * collection: the client applies it locally and pushes it with the version
 * rules.
 */
export function RecordDialog(props: Props) {
  const [id, setId] = useState(props.id)
  const [record, setRecord] = useState<RecordView<Json> | null | undefined>(undefined)
  const [mode, setMode] = useState<Mode>(props.id === null ? 'edit' : 'view')
  const [text, setText] = useState(props.id === null ? '{\n  \n}' : '')
  const [newId, setNewId] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    if (id === null) return
    let stopped = false
    props.collection.get(id).then(
      (next) => !stopped && setRecord(next ?? null),
      (caught: unknown) => !stopped && setError(caught)
    )
    return () => {
      stopped = true
    }
  }, [id, props.collection, props.changeTick])

  const act = async (work: () => Promise<unknown>, next: Mode = 'view') => {
    setBusy(true)
    setError(null)
    try {
      await work()
      setMode(next)
      props.onChanged()
      if (id !== null) setRecord((await props.collection.get(id)) ?? null)
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
  }

  const startEdit = (from: Json) => {
    setText(prettyJson(from))
    setError(null)
    setMode('edit')
  }

  const save = () => {
    const parsed = parseJson(text)
    if (!parsed.ok) return
    if (id === null) {
      const wanted = newId.trim()
      if (!wanted) return setError(new Error('Give the record an id.'))
      return void act(async () => {
        const existing = await props.collection.get(wanted)
        if (existing && !existing.deleted) throw new Error(`A record “${wanted}” exists already: open it to edit it.`)
        await props.collection.put(wanted, parsed.value)
        setId(wanted)
      })
    }
    void act(() => props.collection.put(id, parsed.value))
  }

  const title = id === null ? 'New record' : record?.conflict ? `Conflict: ${id}` : `Record ${id}`
  const conflict = record?.conflict ?? null
  const parsed = parseJson(text)

  return (
    <Dialog title={title} open onClose={props.onClose} wide={conflict !== null || mode === 'merge'}>
      {id !== null && record === undefined && <p class="muted">Loading…</p>}
      {id !== null && record === null && <p>This record is not on this device (it may have been removed).</p>}
      {record && (
        <dl class="record-meta">
          <div>
            <dt>{conflict ? 'Your edit is based on version' : 'Version'}</dt>
            <dd>{record.serverVersion ?? 'not on the server yet'}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd title={formatAbsolute(record.updatedAt)}>{formatRelative(record.updatedAt)}</dd>
          </div>
          <div>
            <dt>By</dt>
            <dd>{whoIs(props.emails, record.updatedBy)}</dd>
          </div>
          <div>
            <dt>State</dt>
            <dd>
              {conflict ? (
                <span class="badge danger">conflict</span>
              ) : record.pending ? (
                <span class="badge warn">pending: not on the server yet</span>
              ) : (
                <span class="badge ok">synced</span>
              )}{' '}
              {record.deleted && <span class="badge muted">deleted</span>}
              {props.encrypted && <span class="badge">decrypted on this device</span>}
            </dd>
          </div>
        </dl>
      )}

      {record && conflict && mode !== 'merge' && (
        <div class="conflict" data-testid="conflict">
          <p>
            Your change and someone else's met on the server. Nothing is lost: choose which to keep, or write a merge. Until then, your version stays on this
            device only.
          </p>
          <div class="side-by-side">
            <figure class="side mine">
              <figcaption>
                <strong>Yours</strong> <span class="muted">(this device)</span>
              </figcaption>
              <pre data-testid="conflict-mine">{record.deleted ? '(deleted)' : prettyJson(record.data)}</pre>
            </figure>
            <figure class="side theirs">
              <figcaption>
                <strong>The server's</strong>{' '}
                <span class="muted">
                  (version {conflict.version}, {whoIs(props.emails, conflict.updatedBy)}, <span title={formatAbsolute(conflict.updatedAt)}>{formatRelative(conflict.updatedAt)}</span>)
                </span>
              </figcaption>
              <pre data-testid="conflict-server">{conflict.deleted ? '(deleted)' : prettyJson(conflict.data)}</pre>
            </figure>
          </div>
          {props.writable && (
            <div class="actions">
              <button type="button" class="primary" disabled={busy} onClick={() => void act(() => props.collection.resolve(record.id, 'local'))}>
                Keep mine
              </button>
              <button type="button" disabled={busy} onClick={() => void act(() => props.collection.resolve(record.id, 'server'))}>
                Take the server's
              </button>
              <button type="button" disabled={busy} onClick={() => (setText(prettyJson(record.deleted ? conflict.data : record.data)), setMode('merge'))}>
                Edit a merge…
              </button>
            </div>
          )}
        </div>
      )}

      {record && !conflict && mode === 'view' && (
        <>
          {record.deleted ? <p class="muted">Deleted: this is its tombstone, kept so every device learns of the deletion.</p> : <pre data-testid="record-json">{prettyJson(record.data)}</pre>}
          {props.writable && (
            <div class="actions">
              <button type="button" class="primary" onClick={() => startEdit(record.deleted ? {} : record.data)}>
                {record.deleted ? 'Restore with new data…' : 'Edit'}
              </button>
              {!record.deleted && (
                <button type="button" class="danger" onClick={() => setMode('delete')}>
                  Delete…
                </button>
              )}
            </div>
          )}
        </>
      )}

      {mode === 'delete' && record && (
        <div class="confirm" role="group" aria-labelledby="delete-question">
          <p id="delete-question">
            Delete <code>{record.id}</code>? Every device syncing this collection will remove it. Its tombstone stays (shown with “Show deleted”).
          </p>
          <div class="actions">
            <button type="button" onClick={() => setMode('view')} autoFocus>
              Keep it
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void act(() => props.collection.delete(record.id))}>
              Delete record
            </button>
          </div>
        </div>
      )}

      {(mode === 'edit' || mode === 'merge') && (
        <form
          onSubmit={(event) => {
            event.preventDefault()
            if (mode === 'merge' && record && parsed.ok) void act(() => props.collection.resolve(record.id, { data: parsed.value }))
            else save()
          }}
        >
          {id === null && (
            <label>
              <span>Id</span>
              <input value={newId} onInput={(e) => setNewId(e.currentTarget.value)} required autoFocus autoComplete="off" spellcheck={false} class="mono" />
            </label>
          )}
          {mode === 'merge' && conflict && (
            <details class="merge-reference">
              <summary>The server's version, for reference</summary>
              <pre>{conflict.deleted ? '(deleted)' : prettyJson(conflict.data)}</pre>
            </details>
          )}
          <JsonEditor id="record-data" label={mode === 'merge' ? 'Merged data (JSON)' : 'Data (JSON)'} value={text} onInput={setText} autoFocus={id !== null} />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || !parsed.ok}>
              {mode === 'merge' ? 'Save merge' : id === null ? 'Create' : 'Save'}
            </button>
            <button type="button" onClick={() => (id === null ? props.onClose() : setMode('view'))}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorText error={error} />
    </Dialog>
  )
}
