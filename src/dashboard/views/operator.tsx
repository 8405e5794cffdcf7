import { useEffect, useRef, useState } from 'preact/hooks'
import { ErrorText } from '../components/error-text.js'
import { formatBytes, formatCount, formatDateTime, formatDuration, formatTime } from '../format.js'
import { useWhileVisible } from '../state/live.js'
import { isOperator } from '../state/operator.js'
import { serverApi, type ServerStats } from '../state/server.js'

/** How often the numbers are asked again while the page is visible. */
const REFRESH_MS = 10_000

const BACKENDS: Record<ServerStats['database']['backend'], string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL', mongodb: 'MongoDB' }

/** #/operator, "Server": the server's health and counts, for its operators only. No record data. */
export function OperatorView() {
  const [stats, setStats] = useState<ServerStats | null>(null)
  const [at, setAt] = useState<Date | null>(null)
  const [refused, setRefused] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  // Said aloud only when asked for (the button), not at every automatic refresh.
  const [said, setSaid] = useState('')
  const loads = useRef(0)

  const load = async (asked: boolean) => {
    const mine = ++loads.current
    setBusy(true)
    try {
      const next = await serverApi().stats()
      if (mine !== loads.current) return
      const now = new Date()
      setStats(next)
      setAt(now)
      setError(null)
      isOperator.value = true
      if (asked) setSaid(`Refreshed at ${formatTime(now)}.`)
    } catch (caught) {
      if (mine !== loads.current) return
      if ((caught as { code?: unknown }).code === 403) {
        setRefused(true)
        setStats(null)
        isOperator.value = false
      } else setError(caught)
    } finally {
      if (mine === loads.current) setBusy(false)
    }
  }

  useEffect(() => {
    void load(false)
  }, [])
  useWhileVisible(() => {
    if (!refused) void load(false)
  }, REFRESH_MS)

  if (refused) {
    return (
      <section aria-labelledby="operator-title">
        <h1 id="operator-title">Server</h1>
        <p class="card refusal" data-testid="operator-refused">
          Only the server's operators see this page.
        </p>
      </section>
    )
  }

  return (
    <section aria-labelledby="operator-title" class="operator">
      <div class="page-head">
        <h1 id="operator-title">Server</h1>
        <div class="toolbar-inline">
          {at && (
            <span class="muted small">
              Updated <time dateTime={at.toISOString()}>{formatTime(at)}</time> · every {REFRESH_MS / 1000} s
            </span>
          )}
          <button type="button" onClick={() => void load(true)} disabled={busy} aria-describedby="operator-said">
            Refresh
          </button>
        </div>
      </div>
      <p id="operator-said" class="visually-hidden" role="status" aria-live="polite">
        {said}
      </p>
      <ErrorText error={error} />
      {!stats && !error && <p class="muted">Loading…</p>}
      {stats && <StatsPanels stats={stats} />}
    </section>
  )
}

function StatsPanels(props: { stats: ServerStats }) {
  const { stats } = props
  const { counts } = stats
  return (
    <div data-testid="server-stats">
      <dl class="stat-grid health">
        <Stat label="Health" value={stats.status === 'ok' ? 'OK' : stats.status} tone={stats.status === 'ok' ? 'ok' : 'bad'} testId="health" />
        <Stat label="Database" value={BACKENDS[stats.database.backend] ?? stats.database.backend} testId="backend" />
        <Stat label="Version" value={stats.version} testId="version" />
        <Stat label="Up for" value={formatDuration(stats.uptimeSeconds)} detail={`since ${formatDateTime(stats.startedAt)}`} testId="uptime" />
      </dl>
      <h2>Data</h2>
      <dl class="stat-grid">
        <Stat label="Users" value={formatCount(counts.users)} testId="users" />
        <Stat label="Collections" value={formatCount(counts.collections)} testId="collections" />
        <Stat label="Records" value={formatCount(counts.records)} detail="live" testId="records" />
        <Stat label="Tombstones" value={formatCount(counts.tombstones)} detail="deleted, kept for sync" testId="tombstones" />
        <Stat label="Stored data" value={formatBytes(counts.bytes)} detail={counts.bytes >= 1000 ? `${formatCount(counts.bytes)} bytes of live records` : 'of live records'} testId="bytes" />
      </dl>
      <h2>Activity</h2>
      <dl class="stat-grid">
        <Stat label="Open batches" value={formatCount(counts.openBatches)} testId="openBatches" />
        <Stat label="Locks held" value={formatCount(counts.locks)} testId="locks" />
        <Stat label="Realtime connections" value={formatCount(stats.realtime.connections)} detail={`${formatCount(stats.realtime.authenticated)} signed in`} testId="connections" />
      </dl>
    </div>
  )
}

function Stat(props: { label: string; value: string; detail?: string; tone?: 'ok' | 'bad'; testId: string }) {
  return (
    <div class={`stat card${props.tone ? ` tone-${props.tone}` : ''}`} data-stat={props.testId}>
      <dt class="stat-label">{props.label}</dt>
      <dd class="stat-value">
        {props.tone && <span class="dot" aria-hidden="true" />}
        {props.value}
      </dd>
      {props.detail && <dd class="stat-detail muted small">{props.detail}</dd>}
    </div>
  )
}
