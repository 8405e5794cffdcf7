import { useEffect, useRef, useState } from 'preact/hooks'
import type { Lock, Roost } from '../../client/index.js'
import type { Role } from '../../services/members/members.shared.js'
import { Dialog } from '../components/dialog.js'
import { ErrorText, messageOf } from '../components/error-text.js'
import { formatAbsolute, formatBytes, formatCountdown, formatRelative } from '../format.js'
import { useCollectionEvents, useWhileVisible } from '../state/live.js'
import { useMemberEmails, whoIs } from '../state/members.js'
import { useNow } from '../state/now.js'
import { serverApi, type CollectionBatch } from '../state/server.js'

/** How often the tab reads locks and batches again while it is visible (lock events also refresh it at once). */
const REFRESH_MS = 4000

type ShownLock = Lock & { email?: string }

/**
 * The collection's current locks (every holder's) and open batches, with
 * countdowns to their expiry. An owner may break someone's lock: the
 * holder's later writes with its old fencing token are refused.
 */
export function LocksTab(props: { roost: Roost; collectionId: string; role: Role }) {
  const { roost, collectionId } = props
  const emails = useMemberEmails(roost, collectionId)
  const now = useNow(1000)
  const [locks, setLocks] = useState<ShownLock[] | null>(null)
  const [batches, setBatches] = useState<CollectionBatch[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [breaking, setBreaking] = useState<ShownLock | null>(null)
  const [breakError, setBreakError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [announce, setAnnounce] = useState('')
  const reload = useRef<() => Promise<void>>(async () => undefined)

  reload.current = async () => {
    try {
      const [nextLocks, nextBatches] = await Promise.all([serverApi().locks(collectionId), serverApi().openBatches(collectionId)])
      setLocks(nextLocks)
      setBatches(nextBatches)
      setError(null)
    } catch (caught) {
      setError(messageOf(caught))
    }
  }

  useEffect(() => void reload.current(), [collectionId])
  useWhileVisible(() => void reload.current(), REFRESH_MS)
  useCollectionEvents((event) => event.collectionId === collectionId && event.type === 'lock' && void reload.current())

  const confirmBreak = async () => {
    if (!breaking) return
    setBusy(true)
    setBreakError(null)
    try {
      await serverApi().breakLock(collectionId, breaking.holder)
      setAnnounce(`Lock of ${holderName(breaking)} broken.`)
      setBreaking(null)
      await reload.current()
    } catch (caught) {
      setBreakError(caught)
    } finally {
      setBusy(false)
    }
  }

  const holderName = (lock: ShownLock) => lock.email ?? whoIs(emails, lock.userId)
  const isOwner = props.role === 'owner'

  return (
    <div class="locks-tab">
      <p class="sr-only" role="status">
        {announce}
      </p>
      {error && (
        <p class="error" role="alert">
          Could not read the locks: {error}
        </p>
      )}
      <section class="card" aria-labelledby="locks-title">
        <h2 id="locks-title">Locks</h2>
        {locks === null ? (
          <p class="muted">Loading…</p>
        ) : locks.length === 0 ? (
          <p class="muted" data-testid="no-locks">
            Nobody holds a lock on this collection.
          </p>
        ) : (
          <div class="table-scroll">
            <table data-testid="locks" class="stack-narrow">
              <thead>
                <tr>
                  <th scope="col">Holder</th>
                  <th scope="col">Mode</th>
                  <th scope="col" class="num">
                    Token
                  </th>
                  <th scope="col">
                    Acquired
                  </th>
                  <th scope="col">Expires in</th>
                  {isOwner && (
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {locks.map((lock) => (
                  <tr key={`${lock.userId}/${lock.holder}`}>
                    <td data-label="Holder">
                      <div>
                        <span class="holder-email">{holderName(lock)}</span>
                        <br />
                        <span class="muted small mono" title="Holder id (the device)">
                          {lock.holder}
                        </span>
                      </div>
                    </td>
                    <td data-label="Mode">
                      <span class={`badge ${lock.mode === 'exclusive' ? 'warn' : ''}`}>{lock.mode}</span>
                    </td>
                    <td class="num mono" data-label="Token">
                      {lock.token}
                    </td>
                    <td data-label="Acquired">
                      <time title={formatAbsolute(lock.acquiredAt)}>{formatRelative(lock.acquiredAt, now)}</time>
                    </td>
                    <td class="mono" data-label="Expires in">
                      <time title={formatAbsolute(lock.expiresAt)}>{formatCountdown(Date.parse(lock.expiresAt) - now)}</time>
                    </td>
                    {isOwner && (
                      <td class="row-actions">
                        <button type="button" class="danger small" onClick={() => (setBreakError(null), setBreaking(lock))} aria-label={`Break the lock of ${holderName(lock)} (${lock.holder})`}>
                          Break
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {!isOwner && locks !== null && locks.length > 0 && <p class="muted small">Only an owner can break someone's lock.</p>}
      </section>

      <section class="card" aria-labelledby="batches-title">
        <h2 id="batches-title">Open batches</h2>
        {batches === null ? (
          <p class="muted">Loading…</p>
        ) : batches.length === 0 ? (
          <p class="muted">No open batch is writing to this collection.</p>
        ) : (
          <div class="table-scroll">
            <table data-testid="batches" class="stack-narrow">
              <thead>
                <tr>
                  <th scope="col">By</th>
                  <th scope="col" class="num">
                    Operations
                  </th>
                  <th scope="col" class="num">
                    Bytes
                  </th>
                  <th scope="col">
                    Opened
                  </th>
                  <th scope="col">Expires in</th>
                </tr>
              </thead>
              <tbody>
                {batches.map((batch) => (
                  <tr key={batch.id}>
                    <td data-label="By">
                      <div>
                        {batch.email ?? whoIs(emails, batch.userId)}
                        <br />
                        <span class="muted small mono" title="Batch id">
                          {batch.id}
                        </span>
                      </div>
                    </td>
                    <td class="num" data-label="Operations">
                      {batch.operationCount.toLocaleString()}
                    </td>
                    <td class="num" data-label="Bytes">
                      {formatBytes(batch.bytes)}
                    </td>
                    <td data-label="Opened">
                      <time title={formatAbsolute(batch.createdAt)}>{formatRelative(batch.createdAt, now)}</time>
                    </td>
                    <td class="mono" data-label="Expires in">
                      <time title={formatAbsolute(batch.expiresAt)}>{formatCountdown(Date.parse(batch.expiresAt) - now)}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p class="muted small">Batches of other members are shown to owners and admins only.</p>
      </section>

      <Dialog title="Break this lock?" open={breaking !== null} onClose={() => setBreaking(null)}>
        {breaking && (
          <>
            <p>
              <strong>{holderName(breaking)}</strong> (device <code>{breaking.holder}</code>) holds an {breaking.mode} lock. Breaking it ends it now: their writes
              made under it are refused from then on, and they must lock again.
            </p>
            <div class="actions">
              <button type="button" onClick={() => setBreaking(null)} autoFocus>
                Keep it
              </button>
              <button type="button" class="danger" disabled={busy} onClick={() => void confirmBreak()}>
                Break the lock
              </button>
            </div>
            <ErrorText error={breakError} />
          </>
        )}
      </Dialog>
    </div>
  )
}
