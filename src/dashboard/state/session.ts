import { signal } from '@preact/signals'
import { createRoost, signIn as signInRequest, signUp as signUpRequest, type Roost, type SyncStatus } from '../../client/index.js'
import { indexedDbStore } from '../../client/stores/indexeddb.js'

export interface SignedIn {
  roost: Roost
  userId: string
  email: string
}

/** Kept per tab (sessionStorage): a reload stays signed in; closing the tab signs out of this page. The password is never kept. */
interface StoredSession {
  accessToken: string
  userId: string
  email: string
}

const SESSION_KEY = 'roost-dashboard-session'

export const session = signal<SignedIn | null>(null)
export const syncStatus = signal<SyncStatus | null>(null)

/** The local database of one user on this browser. */
export const storeName = (userId: string) => `roost-dashboard:${userId}`

const serverUrl = () => location.origin

let unsubscribe: (() => void) | null = null

function open(stored: StoredSession): void {
  const roost = createRoost({ url: serverUrl(), auth: { accessToken: stored.accessToken }, store: indexedDbStore(storeName(stored.userId)) })
  unsubscribe = roost.status.subscribe((status) => {
    syncStatus.value = status
    // The token ran out (or the account is gone): the session is over, sign in again.
    if (status.fatal?.code === 401) void signOut({ force: true })
  })
  session.value = { roost, userId: stored.userId, email: stored.email }
}

/** Resumes this tab's session after a reload. */
export function restoreSession(): void {
  const raw = sessionStorage.getItem(SESSION_KEY)
  if (!raw) return
  try {
    open(JSON.parse(raw) as StoredSession)
  } catch {
    sessionStorage.removeItem(SESSION_KEY)
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  const answer = await signInRequest(serverUrl(), email, password)
  const stored: StoredSession = { accessToken: answer.accessToken, userId: answer.user.id, email: answer.user.email }
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(stored))
  open(stored)
}

export async function signUp(email: string, password: string): Promise<void> {
  await signUpRequest(serverUrl(), email, password)
  await signIn(email, password)
}

/**
 * Signs out of this page. Changes not yet on the server are kept on this
 * device (the local database stays) and the caller is told how many; with
 * nothing waiting, the local copy is deleted. `force` signs out regardless.
 */
export async function signOut(options: { force?: boolean } = {}): Promise<{ signedOut: boolean; pending: number }> {
  const current = session.value
  if (!current) return { signedOut: true, pending: 0 }
  const pending = current.roost.status.get().pending
  if (pending > 0 && !options.force) return { signedOut: false, pending }
  unsubscribe?.()
  unsubscribe = null
  session.value = null
  syncStatus.value = null
  sessionStorage.removeItem(SESSION_KEY)
  await current.roost.close()
  if (pending === 0) {
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(storeName(current.userId))
      request.onsuccess = request.onerror = request.onblocked = () => resolve()
    })
  }
  return { signedOut: true, pending }
}
