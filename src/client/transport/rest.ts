import { RoostError } from '../errors.js'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface RestRequest {
  method: HttpMethod
  /** Path below the server URL, already encoded, such as `collections/notes/records/a`. */
  path: string
  query?: Record<string, string | number | undefined>
  body?: unknown
  headers?: Record<string, string>
  /** Milliseconds until the call counts as lost (default: the transport's). */
  timeoutMs?: number
}

export interface RestOptions {
  url: string
  /** Returns the current access token, if any. */
  token: () => string | null
  timeoutMs: number
  fetch?: typeof fetch
}

/**
 * Calls over REST with `fetch`. Every failure becomes a RoostError: the
 * server's Feathers error with its status, or code 0 when no answer came.
 */
export class RestTransport {
  private readonly base: string
  private readonly fetchFn: typeof fetch

  constructor(private readonly options: RestOptions) {
    this.base = options.url.replace(/\/+$/, '')
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis)
  }

  /**
   * A GET whose body is streamed rather than read: resolves with the
   * response once its headers are in (an error status becomes the usual
   * RoostError). The timeout covers the wait for the headers only, since a
   * long download may take as long as it takes.
   */
  async stream(request: Omit<RestRequest, 'method' | 'body'>): Promise<Response> {
    const url = this.urlOf(request)
    const headers: Record<string, string> = { Accept: '*/*', ...request.headers }
    const token = this.options.token()
    if (token) headers.Authorization = `Bearer ${token}`
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error('timed out')), request.timeoutMs ?? this.options.timeoutMs)
    let response: Response
    try {
      response = await this.fetchFn(url, { method: 'GET', headers, signal: controller.signal, cache: 'no-store' })
    } catch (error) {
      throw new RoostError(0, 'NetworkError', `No answer from ${url.origin}: ${(error as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
    if (response.ok) return response
    const text = await response.text().catch(() => '')
    const error = parseError(text)
    throw new RoostError(response.status, error?.name ?? (response.statusText || 'Error'), error?.message ?? text.slice(0, 200), error?.data)
  }

  private urlOf(request: Pick<RestRequest, 'path' | 'query'>): URL {
    const url = new URL(`${this.base}/${request.path}`)
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.append(key, String(value))
    return url
  }

  async call<T>(request: RestRequest): Promise<T> {
    const url = this.urlOf(request)
    const headers: Record<string, string> = { Accept: 'application/json', ...request.headers }
    const token = this.options.token()
    if (token) headers.Authorization = `Bearer ${token}`
    if (request.body !== undefined) headers['Content-Type'] = 'application/json'
    let response: Response
    try {
      response = await this.fetchFn(url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(request.timeoutMs ?? this.options.timeoutMs),
        // Never let a cache answer a sync read.
        cache: 'no-store'
      })
    } catch (error) {
      throw new RoostError(0, 'NetworkError', `No answer from ${url.origin}: ${(error as Error).message}`)
    }
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      throw new RoostError(0, 'NetworkError', `The answer from ${url.origin} was cut off: ${(error as Error).message}`)
    }
    let body: unknown
    try {
      body = text === '' ? null : JSON.parse(text)
    } catch {
      // Not JSON: a proxy's error page, a cut-off body. Treat it as no answer when it is not an error status.
      if (response.ok) throw new RoostError(0, 'NetworkError', `An answer from ${url.origin} that is not JSON`)
      throw new RoostError(response.status, response.statusText || 'Error', text.slice(0, 200))
    }
    if (response.ok) return body as T
    const error = body as { name?: string; message?: string; data?: unknown } | null
    const retryAfter = Number(response.headers.get('Retry-After'))
    const data = error?.data ?? (Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : undefined)
    throw new RoostError(response.status, error?.name ?? 'Error', error?.message ?? response.statusText, data)
  }
}

/** A Feathers error body, or null when the text is not one (a proxy's page). */
function parseError(text: string): { name?: string; message?: string; data?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed !== null && typeof parsed === 'object' ? (parsed as { name?: string; message?: string; data?: unknown }) : null
  } catch {
    return null
  }
}
