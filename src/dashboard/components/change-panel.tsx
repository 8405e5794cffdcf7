import { useEffect, useRef, useState } from 'preact/hooks'
import type { Roost, ServerChange } from '../../client/index.js'
import { whoIs } from '../state/members.js'
import { formatAbsolute, formatTime } from '../format.js'

/** At most this many changes are kept in the panel (the table has them all). */
export const CHANGE_CAP = 200

const wideScreen = () => typeof matchMedia === 'function' && matchMedia('(min-width: 60rem)').matches

/**
 * The live change panel: every server change of the collection as the
 * client applies it (pulled or heard over the socket), newest first.
 * Changes come in bursts (a first sync brings thousands): they are
 * gathered and shown a few times a second, not one render each.
 */
export function ChangePanel(props: { roost: Roost; collectionId: string; emails: ReadonlyMap<string, string>; onOpen(id: string): void }) {
  const [changes, setChanges] = useState<ServerChange[]>([])
  const [seen, setSeen] = useState(0)
  const [open, setOpen] = useState(wideScreen)
  const buffer = useRef<ServerChange[]>([])

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = () => {
      timer = undefined
      const fresh = buffer.current.splice(0)
      setSeen((count) => count + fresh.length)
      setChanges((list) => [...fresh.reverse(), ...list].slice(0, CHANGE_CAP))
    }
    const off = props.roost.onServerChange((change) => {
      if (change.collectionId !== props.collectionId) return
      buffer.current.push(change)
      if (timer === undefined) timer = setTimeout(flush, 250)
    })
    return () => {
      off()
      clearTimeout(timer)
    }
  }, [props.roost, props.collectionId])

  return (
    <aside class="change-panel" aria-label="Live changes">
      <details open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
        <summary>
          <span class="summary-title">Live changes</span>
          <span class="badge" aria-label={`${seen} changes since this page opened`}>
            {seen.toLocaleString()}
          </span>
        </summary>
        {changes.length === 0 ? (
          <p class="muted small">Changes appear here as they commit on the server.</p>
        ) : (
          <ol class="changes" data-testid="changes" aria-live="off">
            {changes.map((change) => (
              <li key={change.seq}>
                <time dateTime={change.updatedAt} title={formatAbsolute(change.updatedAt)}>
                  {formatTime(new Date(change.updatedAt))}
                </time>
                <span class={`op badge ${change.deleted ? 'danger' : 'accent'}`}>{change.deleted ? 'delete' : 'put'}</span>
                <button type="button" class="link mono change-id" onClick={() => props.onOpen(change.id)} title={`Open ${change.id}`}>
                  {change.id}
                </button>
                <span class="muted version">v{change.version}</span>
                <span class="muted by">{whoIs(props.emails, change.updatedBy)}</span>
              </li>
            ))}
          </ol>
        )}
        {seen > CHANGE_CAP && <p class="muted small">Showing the latest {CHANGE_CAP} of {seen.toLocaleString()} changes; the table has every record.</p>}
      </details>
    </aside>
  )
}
