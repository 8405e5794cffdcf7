import { signal } from '@preact/signals'

/**
 * The page's announcements ("Collection created", "Invitation sent"): shown
 * in one polite live region under the status line, which outlives a change
 * of view, so a message survives the navigation its action caused.
 */
export const notice = signal<{ text: string; id: number } | null>(null)

let counter = 0
let timer: ReturnType<typeof setTimeout> | undefined

export function announce(text: string): void {
  notice.value = { text, id: ++counter }
  clearTimeout(timer)
  timer = setTimeout(() => (notice.value = null), 8000)
}
