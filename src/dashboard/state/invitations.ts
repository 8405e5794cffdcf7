import { signal } from '@preact/signals'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import { serverApi } from './server.js'
import { session } from './session.js'

/** Pending invitations to me: the nav's count, the collections view's link, the invitations view. Null until first loaded. */
export const pendingInvitations = signal<Invitation[] | null>(null)
export const invitationsError = signal<unknown>(null)

let inFlight: Promise<void> | null = null

export function refreshInvitations(): Promise<void> {
  if (!session.value) return Promise.resolve()
  // Several views ask at once (nav, list): one request answers them all.
  inFlight ??= (async () => {
    try {
      pendingInvitations.value = await serverApi().invitations()
      invitationsError.value = null
    } catch (error) {
      invitationsError.value = error
    } finally {
      inFlight = null
    }
  })()
  return inFlight
}

session.subscribe((current) => {
  pendingInvitations.value = null
  invitationsError.value = null
  if (current) void refreshInvitations()
})
