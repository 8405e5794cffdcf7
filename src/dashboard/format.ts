/** How numbers, sizes and times read on the page: in the reader's locale, rounded for people. */

const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB']

/** 1234567 → "1.2 MB" (powers of 1000, as disks and networks count). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes.toLocaleString()} ${bytes === 1 ? 'byte' : 'bytes'}`
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toLocaleString(undefined, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${UNITS[unit]}`
}

export const formatCount = (count: number) => count.toLocaleString()

export const plural = (count: number, one: string, many = `${one}s`) => `${count.toLocaleString()} ${count === 1 ? one : many}`

/** 93784 → "1 day, 2 hours" (the two largest parts; seconds only under a minute). */
export function formatDuration(seconds: number): string {
  const parts: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'day'],
    [Math.floor((seconds % 86_400) / 3600), 'hour'],
    [Math.floor((seconds % 3600) / 60), 'minute']
  ]
  const shown = parts.filter(([n]) => n > 0).slice(0, 2)
  if (shown.length === 0) return plural(Math.max(0, Math.floor(seconds)), 'second')
  return shown.map(([n, unit]) => plural(n, unit)).join(', ')
}

export const formatDateTime = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
export const formatDate = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' })
export const formatTime = (date: Date) => date.toLocaleTimeString(undefined, { timeStyle: 'medium' })

/** What a collection is called on the page: its name, or its id when it has none. */
export const labelOf = (collection: { id: string; name: string | null }) => collection.name ?? collection.id

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
  if (value > 0 && value < 60) value = 0
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
