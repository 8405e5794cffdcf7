import { randomBytes } from 'node:crypto'
import { createRoost, signUp, type Roost, type RoostOptions } from '../../src/client/index.js'

export const newEmail = () => `client-${randomBytes(5).toString('hex')}@example.com`
export const newId = (prefix = 'c') => `${prefix}-${randomBytes(6).toString('hex')}`
export const PASSWORD = 'a long enough password'

/** A new account on the server: its credentials. */
export async function account(url: string) {
  const email = newEmail()
  const user = await signUp(url, email, PASSWORD)
  return { email, password: PASSWORD, userId: user.id }
}

/** Clients opened by a test, closed after it. */
export class Clients {
  private open: Roost[] = []

  create(options: RoostOptions): Roost {
    const roost = createRoost({ retry: { baseMs: 50, maxMs: 500 }, pollIntervalMs: 500, ...options })
    this.open.push(roost)
    return roost
  }

  async closeAll() {
    await Promise.all(this.open.map((roost) => roost.close().catch(() => undefined)))
    this.open = []
  }
}

/** Waits until `predicate` holds, polling (for what arrives asynchronously). */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A signed-in REST session of the test's own ("another session of the same user", or an admin acting on the server). */
export async function session(url: string, user: { email: string; password: string }) {
  const answer = await fetch(`${url}/authentication`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ strategy: 'local', email: user.email, password: user.password })
  })
  if (!answer.ok) throw new Error(`sign-in failed: ${answer.status}`)
  const { accessToken } = (await answer.json()) as { accessToken: string }
  /** One REST call: its status and JSON body. */
  return async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T }
  }
}

export type Api = Awaited<ReturnType<typeof session>>

/** The server's records of a collection (tombstones left out), as { id: data }. */
export async function serverData(api: Api, collectionId: string): Promise<Record<string, unknown>> {
  const { status, body } = await api('GET', `collections/${collectionId}/records?$limit=1000`)
  if (status !== 200) throw new Error(`find failed: ${status} ${JSON.stringify(body)}`)
  return Object.fromEntries((body.data as Array<{ id: string; data: unknown }>).map((record) => [record.id, record.data]))
}

/** A client's live local records, as { id: data }. */
export async function localData(roost: Roost, collectionId: string): Promise<Record<string, unknown>> {
  return Object.fromEntries((await roost.collection(collectionId).list()).map((record) => [record.id, record.data]))
}

/** `promise`, or a failure naming `what` after `timeoutMs`: every wait of a test is bounded. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), timeoutMs)))
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The outcome of a write, waited for at most 10 s. */
export const outcome = (roost: Roost, writeId: string) => within(roost.awaitWrite(writeId), `the outcome of write ${writeId}`)

/** `roost.whenSynced()`, waited for at most 15 s. */
export const synced = (roost: Roost, timeoutMs = 15_000) => within(roost.whenSynced(), 'the client to be synced', timeoutMs)
