/**
 * The REST client of ./api.ts in the throwing style: what another device or
 * user does to the server while the page watches, failing the test at once
 * on an error answer.
 */
import { apiAs, newUser, type Api } from './api.js'
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

/** Signs in over REST; calls throw a RestError for any status from 400 up. */
export async function signInRest(baseUrl: string, email: string, password = PASSWORD): Promise<RestUser> {
  return throwing(await apiAs(baseUrl, email, password), email)
}

export async function signUpRest(baseUrl: string, email: string, password = PASSWORD): Promise<RestUser> {
  return throwing(await newUser(baseUrl, email, password), email)
}

function throwing(api: Api, email: string): RestUser {
  const call = async <T,>(method: string, path: string, payload?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const { status, body } = await api.call<T>(method, path, payload, headers)
    if (status >= 400) throw new RestError(status, body)
    return body
  }
  return { userId: api.userId, email, token: api.token, call }
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
