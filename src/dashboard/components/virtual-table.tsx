import type { ComponentChildren } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'

export interface Column<R> {
  key: string
  label: string
  /** A CSS width for the column (the table's layout is fixed: rows never change height or width as they load). */
  width: string
  class?: string
  /** Hidden on narrow screens (375 px): the least needed columns. */
  wide?: boolean
  render(row: R): ComponentChildren
}

export interface VirtualTableProps<R> {
  /** The table's accessible name. */
  label: string
  columns: Array<Column<R>>
  /** How many rows the whole table has (only the visible ones are in the DOM). */
  count: number
  /** Rows loaded so far, by index; the others show as loading. */
  rowAt(index: number): R | undefined
  rowClass?(row: R): string | undefined
  rowLabel?(row: R): string
  /** Asked for whenever the visible range changes: load [first, last). */
  onRange(first: number, last: number): void
  onOpen(row: R): void
  empty?: ComponentChildren
  /** A new value scrolls back to the top (a new filter: the old position may be past the end). */
  resetKey?: unknown
}

export const ROW_HEIGHT = 36
const OVERSCAN = 8

/**
 * A table of many rows with a fixed row height: only the rows in view (and a
 * few either side) are rendered, between two spacer rows that keep the
 * scroll bar true to the whole. Screen readers get the real position of each
 * row (aria-rowcount, aria-rowindex). Keyboard: one row is in the tab order
 * at a time (roving tabindex); arrows, Page Up/Down, Home and End move it,
 * Enter opens it.
 */
export function VirtualTable<R>(props: VirtualTableProps<R>) {
  const scroller = useRef<HTMLDivElement>(null)
  const head = useRef<HTMLTableSectionElement>(null)
  const [view, setView] = useState({ top: 0, height: 600 })
  const [active, setActive] = useState(0)
  const focusWanted = useRef(false)
  // Whether a row of this table has the focus (kept through re-renders; cleared when focus goes elsewhere on the page).
  const hadFocus = useRef(false)

  const measure = () => {
    const element = scroller.current
    if (element) setView({ top: element.scrollTop, height: element.clientHeight })
  }
  useLayoutEffect(() => {
    measure()
    const element = scroller.current
    if (!element) return
    const observer = new ResizeObserver(measure)
    observer.observe(element)
    return () => observer.disconnect()
  }, [])

  useLayoutEffect(() => {
    const element = scroller.current
    if (!element || element.scrollTop === 0) return
    element.scrollTop = 0
    measure()
    setActive(0)
  }, [props.resetKey])

  const headHeight = head.current?.offsetHeight ?? ROW_HEIGHT
  const first = Math.max(0, Math.floor((view.top - headHeight) / ROW_HEIGHT) - OVERSCAN)
  const last = Math.min(props.count, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN)

  const { onRange } = props
  useEffect(() => onRange(first, last), [first, last, onRange])

  // The table shrank (a filter): keep the active row inside it.
  useEffect(() => {
    if (active >= props.count && props.count > 0) setActive(props.count - 1)
  }, [props.count, active])

  // Focus follows the active row: after a key moved it (once the row is rendered), and after a re-render took it
  // away (a focused row scrolled out of the DOM, or moved by the diff) while nothing else took it.
  useEffect(() => {
    const lost = hadFocus.current && (document.activeElement === document.body || document.activeElement === null)
    if (!focusWanted.current && !lost) return
    const row = scroller.current?.querySelector<HTMLElement>(`tr[data-index="${active}"]`)
    if (row) {
      focusWanted.current = false
      row.focus({ preventScroll: true })
    }
  })

  const moveTo = (index: number) => {
    const target = Math.max(0, Math.min(props.count - 1, index))
    const element = scroller.current
    if (element) {
      const rowTop = headHeight + target * ROW_HEIGHT
      if (rowTop < element.scrollTop + headHeight) element.scrollTop = rowTop - headHeight
      else if (rowTop + ROW_HEIGHT > element.scrollTop + element.clientHeight) element.scrollTop = rowTop + ROW_HEIGHT - element.clientHeight
      measure()
    }
    focusWanted.current = true
    setActive(target)
  }

  const page = Math.max(1, Math.floor(view.height / ROW_HEIGHT) - 1)
  const onKeyDown = (event: KeyboardEvent, index: number, row: R | undefined) => {
    const moves: Record<string, number> = { ArrowDown: index + 1, ArrowUp: index - 1, PageDown: index + page, PageUp: index - page, Home: 0, End: props.count - 1 }
    const to = moves[event.key]
    if (to !== undefined) {
      event.preventDefault()
      moveTo(to)
    } else if ((event.key === 'Enter' || event.key === ' ') && row) {
      event.preventDefault()
      props.onOpen(row)
    }
  }

  const rows: ComponentChildren[] = []
  for (let index = first; index < last; index++) {
    const row = props.rowAt(index)
    rows.push(
      <tr
        key={index}
        data-index={index}
        aria-rowindex={index + 2}
        tabIndex={index === active ? 0 : -1}
        class={row ? props.rowClass?.(row) : 'loading'}
        aria-label={row ? props.rowLabel?.(row) : undefined}
        onClick={() => {
          setActive(index)
          if (row) props.onOpen(row)
        }}
        onFocus={() => {
          hadFocus.current = true
          setActive(index)
        }}
        onBlur={(event) => {
          const next = event.relatedTarget
          if (next instanceof Node && !scroller.current?.contains(next)) hadFocus.current = false
        }}
        onKeyDown={(event) => onKeyDown(event, index, row)}
      >
        {props.columns.map((column) => (
          <td key={column.key} class={cellClass(column)}>
            {row ? column.render(row) : column === props.columns[0] ? <span class="placeholder">Loading…</span> : null}
          </td>
        ))}
      </tr>
    )
  }

  return (
    <div class="vt" ref={scroller} onScroll={measure} role="region" aria-label={props.label} tabIndex={props.count === 0 ? 0 : -1}>
      <table aria-rowcount={props.count + 1}>
        <colgroup>
          {props.columns.map((column) => (
            <col key={column.key} class={`col-${column.key}${column.wide ? ' hide-narrow' : ''}`} style={{ width: column.width }} />
          ))}
        </colgroup>
        <thead ref={head}>
          <tr aria-rowindex={1}>
            {props.columns.map((column) => (
              <th key={column.key} scope="col" class={cellClass(column)}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {/* Both spacers always present (0 px when not needed): the same DOM shape at every scroll position, so rows are never moved (a moved row loses focus). */}
          <tr key="above" class="spacer" aria-hidden="true" style={{ height: `${first * ROW_HEIGHT}px` }} />
          {rows}
          <tr key="below" class="spacer" aria-hidden="true" style={{ height: `${Math.max(0, props.count - last) * ROW_HEIGHT}px` }} />
        </tbody>
      </table>
      {props.count === 0 && <div class="vt-empty">{props.empty}</div>}
    </div>
  )
}

const cellClass = (column: { class?: string; wide?: boolean }) => [column.class, column.wide ? 'hide-narrow' : undefined].filter(Boolean).join(' ') || undefined
