import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import type { Roost, ServerRecord } from '../../client/index.js'
import { formatAbsolute, formatBytes, formatRelative, plural } from '../format.js'
import { UnlockForm } from '../components/unlock-form.js'
import { VirtualTable, type Column } from '../components/virtual-table.js'
import { useMemberEmails, whoIs } from '../state/members.js'
import { useNow } from '../state/now.js'
import { serverApi } from '../state/server.js'

type Row = ServerRecord & { size: number }
const BLOCK = 100
const encoder = new TextEncoder()

/**
 * An encrypted collection on a device without the account's keys: not
 * synced (the pull could not decrypt), its records listed as the server
 * holds them, page by page — ids, versions, authors and the size of the
 * ciphertext, never anything readable. No editing.
 */
export function OpaqueRecords(props: { roost: Roost; collectionId: string; onUnlocked(): void }) {
  const emails = useMemberEmails(props.roost, props.collectionId)
  const now = useNow(30_000)
  const [total, setTotal] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [, setRevision] = useState(0)
  const rows = useRef(new Map<number, Row>())
  const requested = useRef(new Set<number>())

  const onRange = useCallback(
    (first: number, last: number) => {
      for (let block = Math.floor(first / BLOCK) * BLOCK; block < Math.max(last, first + 1); block += BLOCK) {
        if (requested.current.has(block)) continue
        requested.current.add(block)
        serverApi()
          .records(props.collectionId, { offset: block, limit: BLOCK })
          .then((answer) => {
            answer.records.forEach((record, i) => rows.current.set(block + i, { ...record, size: encoder.encode(JSON.stringify(record.data)).byteLength }))
            setTotal(answer.total)
            setRevision((n) => n + 1)
          })
          .catch((caught: unknown) => {
            requested.current.delete(block)
            setError(caught instanceof Error ? caught.message : String(caught))
          })
      }
    },
    [props.collectionId]
  )
  useEffect(() => onRange(0, BLOCK), [onRange])

  const columns: Array<Column<Row>> = [
    { key: 'id', label: 'Id', width: '28%', class: 'mono cell-id', render: (row) => row.id },
    { key: 'version', label: 'Version', width: '6rem', class: 'num', render: (row) => row.version },
    { key: 'updated', label: 'Updated', width: '9.5rem', wide: true, render: (row) => <time title={formatAbsolute(row.updatedAt)}>{formatRelative(row.updatedAt, now)}</time> },
    { key: 'by', label: 'By', width: '28%', wide: true, render: (row) => whoIs(emails, row.updatedBy) },
    { key: 'size', label: 'Ciphertext', width: '7rem', class: 'num', render: (row) => formatBytes(row.size) }
  ]

  return (
    <div class="opaque">
      <div class="callout lock-notice" data-testid="encrypted-locked">
        <p>
          <strong>Encrypted — unlock on the <a href="#/account">Encryption keys page</a> to read.</strong> This device does not hold the account's keys, so the
          records below are shown as the server stores them: ids, versions and sizes only. Or unlock here:
        </p>
        <UnlockForm roost={props.roost} onUnlocked={props.onUnlocked} />
      </div>
      <p class="counts" data-testid="record-counts" aria-live="polite">
        {total === null ? 'Counting…' : `${plural(total, 'encrypted record')} on the server`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <VirtualTable<Row>
        label={`Encrypted records of ${props.collectionId}`}
        columns={columns}
        count={total ?? 0}
        rowAt={(index) => rows.current.get(index)}
        onRange={onRange}
        onOpen={() => undefined}
        empty={total === null ? 'Loading…' : 'No records yet.'}
      />
    </div>
  )
}
