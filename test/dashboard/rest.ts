/**
 * The test's own REST client for the dashboard's browser tests: what another
 * device or user does to the server while the page watches (plain fetch, the
 * wire contract of docs/PROTOCOL.md).
 */
import { PASSWORD } from './harness.js'

export interface RestUser {
  userId: string
  email: string
  token: string
  call<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`)
  }
}

export async function signInRest(baseUrl: string, email: string, password = PASSWORD): Promise<RestUser> {
  const origin = baseUrl.replace(/\/$/, '')
  const answer = await fetch(`${origin}/authentication`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ strategy: 'local', email, password })
  })
  const body = (await answer.json()) as { accessToken: string; user: { id: string } }
  if (!answer.ok) throw new RestError(answer.status, body)
  const call = async <T,>(method: string, path: string, payload?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const response = await fetch(`${origin}/${path.replace(/^\//, '')}`, {
      method,
      headers: { authorization: `Bearer ${body.accessToken}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: payload === undefined ? undefined : JSON.stringify(payload)
    })
    const text = await response.text()
    const parsed: unknown = text ? JSON.parse(text) : null
    if (!response.ok) throw new RestError(response.status, parsed)
    return parsed as T
  }
  return { userId: body.user.id, email, token: body.accessToken, call }
}

export async function signUpRest(baseUrl: string, email: string, password = PASSWORD): Promise<RestUser> {
  const answer = await fetch(`${baseUrl.replace(/\/$/, '')}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password })
  })
  if (!answer.ok) throw new RestError(answer.status, await answer.json())
  return signInRest(baseUrl, email, password)
}

export interface WireRecord {
  id: string
  version: number
  data: unknown
  deleted: boolean
  updatedBy: string | null
}

export const recordPath = (collectionId: string, id?: string) =>
  `collections/${encodeURIComponent(collectionId)}/records${id === undefined ? '' : `/${encodeURIComponent(id)}`}`
