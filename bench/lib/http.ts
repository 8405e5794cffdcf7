import http from 'node:http'

/**
 * A small JSON-over-HTTP client with keep-alive connections (node:http, which
 * costs the load generator less CPU per request than fetch). Each concurrent
 * caller gets its own connection from the pool.
 */
export interface HttpResponse<T> {
  status: number
  body: T
}

/** A request body already serialised as JSON, so that a timed loop does not pay for building it. */
export class JsonText {
  constructor(readonly text: string) {}
  static of(body: unknown): JsonText {
    return new JsonText(JSON.stringify(body))
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string
  ) {
    super(`${what} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`)
  }
}

/** Attempts of a request whose pooled keep-alive connection turned out to be closed. */
const MAX_REUSED_SOCKET_ATTEMPTS = 5

export class HttpClient {
  private readonly host: string
  private readonly port: number

  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
    private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  ) {
    const url = new URL(baseUrl)
    this.host = url.hostname
    this.port = Number(url.port)
  }

  /** The same server and connection pool, with more default headers (e.g. Authorization). */
  with(headers: Record<string, string>): HttpClient {
    return new HttpClient(this.baseUrl, { ...this.headers, ...headers }, this.agent)
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponse<T>> {
    const payload = body === undefined ? undefined : body instanceof JsonText ? body.text : JSON.stringify(body)
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send<T>(method, path, payload, headers)
      } catch (error) {
        const { code, reusedSocket } = error as NodeJS.ErrnoException & { reusedSocket?: boolean }
        // The server closed an idle keep-alive connection just as this request went out on it:
        // the request never reached the server, so sending it again is safe (see Node's `request.reusedSocket`).
        // Again on the next pooled connection, which may have been closed too (a busy load generator
        // notices closed idle connections late, as W4k's thousand sockets make it).
        if (reusedSocket && code === 'ECONNRESET' && attempt < MAX_REUSED_SOCKET_ATTEMPTS) continue
        throw new Error(`${method} ${path}: ${(error as Error).message} (${code ?? 'no code'}${reusedSocket ? ', on a reused connection' : ''})`, { cause: error })
      }
    }
  }

  private send<T>(
    method: string,
    path: string,
    payload: string | undefined,
    headers: Record<string, string>,
    parse = true
  ): Promise<HttpResponse<T>> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: {
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...this.headers,
            ...headers
          }
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', reject)
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown = text
            if (text !== '' && (parse || (response.statusCode ?? 0) >= 300) && String(response.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text)
              } catch (error) {
                reject(error)
                return
              }
            }
            resolve({ status: response.statusCode ?? 0, body: parsed as T })
          })
        }
      )
      request.on('error', (error) => reject(Object.assign(error, { reusedSocket: request.reusedSocket })))
      request.end(payload)
    })
  }

  /** A request that must succeed (2xx); returns the parsed body. */
  async json<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await this.request<T>(method, path, body, headers)
    if (response.status < 200 || response.status >= 300) throw new HttpError(response.status, response.body, `${method} ${path}`)
    return response.body
  }

  /**
   * A request that must succeed (2xx), whose answer is received in full but
   * not parsed: for timed loops that check what was stored afterwards
   * instead, so that the clock measures the server, not JSON.parse here.
   */
  async ok(method: string, path: string, body: JsonText): Promise<void> {
    const response = await this.send<unknown>(method, path, body.text, {}, false)
    if (response.status < 200 || response.status >= 300) throw new HttpError(response.status, response.body, `${method} ${path}`)
  }

  close(): void {
    this.agent.destroy()
  }
}

/** Waits until something answers HTTP at `url` (any status), or fails after `timeoutMs` or when `gaveUp` resolves. */
export async function waitForHttp(url: string, timeoutMs: number, gaveUp: Promise<unknown>): Promise<void> {
  let stop = false
  void gaveUp.then(() => (stop = true))
  const deadline = Date.now() + timeoutMs
  const client = new HttpClient(url)
  try {
    while (!stop && Date.now() < deadline) {
      try {
        await client.request('GET', '/')
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  } finally {
    client.close()
  }
  throw new Error(stop ? 'the server exited before it answered' : `no answer within ${timeoutMs / 1000} s`)
}
