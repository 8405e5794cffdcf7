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

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** "in 6 days", "in 3 hours", "2 minutes ago". */
export function fromNow(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000
  const abs = Math.abs(seconds)
  if (abs < 60) return relative.format(Math.round(seconds), 'second')
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute')
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour')
  return relative.format(Math.round(seconds / 86_400), 'day')
}

/** What a collection is called on the page: its name, or its id when it has none. */
export const labelOf = (collection: { id: string; name: string | null }) => collection.name ?? collection.id
