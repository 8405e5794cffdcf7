import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy of the test's own between a client and a Roost server, to
 * take the network away for real:
 * - `pass`: bytes flow both ways;
 * - `down`: new connections are refused (closed at once) and open ones are cut, as when offline;
 * - `cut-answers`: requests reach the server, but every connection is cut as
 *   soon as the server starts answering: the server has done the work, and
 *   the client never hears of it (an answer lost after the commit). Answers
 *   to CORS preflights (OPTIONS) pass: a browser sends its request only
 *   after the preflight's answer, so cutting those would keep the request
 *   from ever reaching the server.
 * `url` is the proxy's address: give it to the client instead of the server's.
 */
export class TestProxy {
  mode: 'pass' | 'down' | 'cut-answers' = 'pass'
  /** Answers cut so far in `cut-answers` mode (requests that reached the server without an answer back). */
  cutAnswers = 0
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private port = 0

  constructor(private readonly target: string) {}

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<this> {
    const target = new URL(this.target)
    this.server = createServer((client) => {
      if (this.mode === 'down') return client.destroy()
      const upstream = connect(Number(target.port), target.hostname)
      this.track(client)
      this.track(upstream)
      // The method of the last request on this connection (browsers do not pipeline: one request, then its answer).
      let lastMethod = ''
      client.on('data', (chunk) => {
        const method = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \//.exec(chunk.toString('latin1', 0, 16))
        if (method) lastMethod = method[1]!
        upstream.write(chunk)
      })
      upstream.on('data', (chunk) => {
        if (this.mode === 'cut-answers' && lastMethod !== 'OPTIONS') {
          this.cutAnswers++
          client.destroy()
          upstream.destroy()
          return
        }
        client.write(chunk)
      })
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  private track(socket: Socket) {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
  }

  /** Offline: refuse new connections and cut the open ones. */
  down() {
    this.mode = 'down'
    for (const socket of this.sockets) socket.destroy()
  }

  /** Online again. */
  up() {
    this.mode = 'pass'
  }

  /** From now on, every answer is lost after the server did the work (open connections are cut too, so new ones are made). */
  cutAnswersFromNowOn() {
    this.mode = 'cut-answers'
    this.cutAnswers = 0
    for (const socket of this.sockets) socket.destroy()
  }

  async close() {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
