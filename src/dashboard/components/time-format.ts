/** Times for the collection view: relative (the exact value goes in a title), clock times, countdowns. Sizes and counts: ../format.ts. */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY]
]

/** "3 minutes ago", "in 20 seconds"; `now` for tests and ticking views. */
export function formatRelative(iso: string | null, now = Date.now()): string {
  if (!iso) return '—'
  const then = Date.parse(iso)
  if (Number.isNaN(then)) return iso
  let value = (then - now) / 1000
  // A moment ahead (the server's clock, or a `now` read before the change arrived) is "now", not "in 2 seconds".
  if (value > 0 && value < 120) value = 0
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit)
    value /= size
  }
  return iso
}

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** The full local date and time, for titles. */
export function formatAbsolute(iso: string | null): string {
  if (!iso) return ''
  const then = Date.parse(iso)
  return Number.isNaN(then) ? iso : absolute.format(then)
}

/** "0:42", "12:05", "1:02:03": time left, for countdowns. */
export function formatCountdown(ms: number): string {
  if (ms <= 0) return 'expired'
  const total = Math.ceil(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
export const formatTime = (iso: string) => timeOnly.format(Date.parse(iso))

