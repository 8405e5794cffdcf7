import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import type { Collection, Json, RecordView } from '../../client/index.js'

/** Rows are read in blocks of this many around the visible range. */
const BLOCK = 50

export interface RecordFilter {
  idPrefix?: string
  includeDeleted: boolean
}

export interface RecordCounts {
  /** Records that match the filter (the table's length). */
  matching: number
  /** Records of the collection (tombstones included when the filter includes them). */
  total: number
  /** The filter they were counted with. */
  filter: RecordFilter
}

export interface RecordWindow {
  counts: RecordCounts | null
  rowAt(index: number): RecordView<Json> | undefined
  /** The table's visible range changed: read what is not read yet. */
  onRange(first: number, last: number): void
  /** Something changed: read the visible rows and the counts again. */
  reread(): void
}

/**
 * The rows of a virtualized table of one collection, read from the local
 * store a block at a time with `collection.page()` — only around what is
 * visible, never the whole collection. A new filter (a new object) starts
 * over; the newest read of a block wins over an older one that answers late.
 */
export function useRecordWindow(collection: Collection<Json>, filter: RecordFilter): RecordWindow {
  const [counts, setCounts] = useState<RecordCounts | null>(null)
  const [, setRevision] = useState(0)
  const rows = useRef(new Map<number, RecordView<Json>>())
  const range = useRef({ first: 0, last: 0 })
  const generation = useRef(0)
  const loading = useRef(new Set<number>())
  const loaded = useRef(new Set<number>())
  const tickets = useRef(new Map<number, number>())

  /** Reads the blocks covering [first, last); `again` re-reads blocks already read or being read. */
  const load = useCallback(
    async (first: number, last: number, again: boolean) => {
      const mine = generation.current
      const blocks: number[] = []
      for (let block = Math.floor(first / BLOCK) * BLOCK; block < Math.max(last, first + 1); block += BLOCK) {
        if (!again && (loaded.current.has(block) || loading.current.has(block))) continue
        blocks.push(block)
      }
      let applied = false
      await Promise.all(
        blocks.map(async (offset) => {
          const ticket = (tickets.current.get(offset) ?? 0) + 1
          tickets.current.set(offset, ticket)
          loading.current.add(offset)
          try {
            const answer = await collection.page({ offset, limit: BLOCK, ...filter })
            if (mine !== generation.current || tickets.current.get(offset) !== ticket) return
            for (let index = offset; index < offset + BLOCK; index++) rows.current.delete(index)
            answer.records.forEach((row, i) => rows.current.set(offset + i, row))
            loaded.current.add(offset)
            setCounts({ matching: answer.matching, total: answer.total, filter })
            applied = true
          } finally {
            if (tickets.current.get(offset) === ticket) loading.current.delete(offset)
          }
        })
      )
      if (applied) setRevision((n) => n + 1)
    },
    [collection, filter]
  )

  // A new filter: forget what was read and start again (`load` is new with it).
  useEffect(() => {
    generation.current++
    rows.current = new Map()
    loading.current = new Set()
    loaded.current = new Set()
    tickets.current = new Map()
    void load(range.current.first, Math.max(range.current.last, BLOCK), true)
  }, [load])

  const onRange = useCallback(
    (first: number, last: number) => {
      range.current = { first, last }
      void load(first, last, false)
    },
    [load]
  )

  const reread = useCallback(() => {
    const { first, last } = range.current
    void load(first, Math.max(last, first + 1), true)
  }, [load])

  return { counts, rowAt: (index) => rows.current.get(index), onRange, reread }
}
