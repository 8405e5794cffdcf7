import { useEffect, useState } from 'preact/hooks'
import type { Progress, SyncStatus } from '../../client/index.js'
import { plural } from '../format.js'
import { session, syncStatus } from '../state/session.js'

/** The sync state in plain words, most important first. */
export function describeStatus(status: SyncStatus | null): { words: string; tone: 'ok' | 'busy' | 'warn' | 'error' } {
  if (!status) return { words: 'Starting…', tone: 'busy' }
  if (status.fatal) return { words: `Error: ${status.fatal.message} — syncing stopped`, tone: 'error' }
  const waiting = status.pending > 0 ? `, ${plural(status.pending, 'change')} waiting` : ''
  const conflicts = status.conflicts > 0 ? `, ${plural(status.conflicts, 'conflict')} to resolve` : ''
  if (!status.connected && status.error) {
    const words = status.error.code === 0 ? 'Offline' : `Error: ${status.error.message}`
    return { words: `${words}${waiting}${conflicts}`, tone: status.error.code === 0 ? 'warn' : 'error' }
  }
  if (status.pushing || status.pulling) return { words: `Syncing${waiting}${conflicts}`, tone: 'busy' }
  if (!status.connected) return { words: `Connecting${waiting}${conflicts}`, tone: 'busy' }
  if (status.pending > 0 || status.conflicts > 0) return { words: `Online${waiting}${conflicts}`, tone: 'warn' }
  return { words: status.live ? 'Online, live' : 'Online', tone: 'ok' }
}

/** One polite live region: screen readers hear the state change without losing their place. */
export function SyncStatusLine() {
  const [progress, setProgress] = useState<Progress | null>(null)
  const roost = session.value?.roost
  useEffect(() => {
    if (!roost) return
    let clear: ReturnType<typeof setTimeout> | undefined
    const stop = roost.onProgress((next) => {
      setProgress(next)
      clearTimeout(clear)
      clear = setTimeout(() => setProgress(null), 1500)
    })
    return () => {
      stop()
      clearTimeout(clear)
    }
  }, [roost])
  const { words, tone } = describeStatus(syncStatus.value)
  const loading =
    progress && progress.done !== (progress.total ?? -1)
      ? `${progress.phase === 'pull' ? 'Loading' : 'Sending'} ${progress.total !== null ? `${progress.done.toLocaleString()} of ${plural(progress.total, 'record')}` : plural(progress.done, 'record')}`
      : null
  return (
    <p class={`sync-status tone-${tone}`} role="status" aria-live="polite" data-testid="sync-status">
      <span class="dot" aria-hidden="true" />
      {words}
      {loading && (
        <>
          {' · '}
          <span data-testid="sync-progress">{loading}</span>
          {progress?.total ? <progress max={progress.total} value={progress.done} aria-label="Loading progress" /> : null}
        </>
      )}
    </p>
  )
}
