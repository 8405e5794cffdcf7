import { signal } from '@preact/signals'
import { serverApi } from './server.js'
import { session } from './session.js'

/**
 * Whether the signed-in user is one of the server's operators: asked once
 * after sign-in (the stats call answers 403 to everyone else), so the nav
 * shows "Server" only to them. Null: not known (yet, or the server did not say).
 */
export const isOperator = signal<boolean | null>(null)

session.subscribe((current) => {
  isOperator.value = null
  if (!current) return
  serverApi()
    .stats()
    .then(
      () => {
        if (session.value === current) isOperator.value = true
      },
      (error: unknown) => {
        const code = (error as { code?: unknown } | null)?.code
        if (session.value === current) isOperator.value = code === 403 || code === 404 ? false : null
      }
    )
})
