/**
 * The REST API as the tests see it, beside the page: what the page did is
 * checked here, through the server, not through the page's own view of it.
 */
import { PASSWORD } from './harness.js'

export interface Api {
  token: string
  userId: string
  call<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>
}

/** Signs in over REST as an existing user (signed up on the page or here). */
export async function apiAs(url: string, email: string, password = PASSWORD): Promise<Api> {
  const base = url.replace(/\/+$/, '')
  const answer = await fetch(`${base}/authentication`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ strategy: 'local', email, password })
  })
  if (!answer.ok) throw new Error(`Signing in as ${email} failed: ${answer.status} ${await answer.text()}`)
  const { accessToken, user } = (await answer.json()) as { accessToken: string; user: { id: string } }
  return {
    token: accessToken,
    userId: user.id,
    async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${base}/${path.replace(/^\//, '')}`, {
        method,
        headers: { authorization: `Bearer ${accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
      const text = await response.text()
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T }
    }
  }
}

/** Signs a new user up over REST and in. */
export async function newUser(url: string, email: string, password = PASSWORD): Promise<Api> {
  const answer = await fetch(`${url.replace(/\/+$/, '')}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password })
  })
  if (!answer.ok) throw new Error(`Signing up ${email} failed: ${answer.status} ${await answer.text()}`)
  return apiAs(url, email, password)
}
