import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy of the test's own between a client and a Roost server, to
 * take the network away for real:
 * - `pass`: bytes flow both ways;
 * - `down`: new connections are refused (closed at once) and open ones are cut, as when offline;
 * - `cut-answers`: requests reach the server, but every connection is cut as
 *   soon as the server starts answering: the server has done the work, and
 *   the client never hears of it (an answer lost after the commit).
 * In `pass` mode, rules aim at single requests, told by their head (request
 * line and headers, e.g. /x-service-method: commit/i or /^PUT \/collections\//):
 * - `cutAnswersOf(match, times)`: the next `times` matching requests reach the
 *   server, and their connections are cut when the answer starts;
 * - `holdAnswersOf(match)`: matching requests reach the server, and their
 *   answers are held back until `release()`;
 * - `downBefore(match)`: the next matching request is not sent: the proxy
 *   goes `down` just before it.
 * Answers to CORS preflights (OPTIONS) always pass: a browser sends its
 * request only after the preflight's answer, so cutting those would keep the
 * request from ever reaching the server.
 * `url` is the proxy's address: give it to the client instead of the server's.
 * HTTP/1.1 clients (fetch) never pipeline, so the answer coming back on a
 * connection belongs to the last request head sent on it.
 */
export interface CutRule {
  match: RegExp
  left: number
  /** Go offline (`down`) right after cutting, before the client can retry. */
  thenDown: boolean
}

const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP\/1\.[01]\r\n/

export class TestProxy {
  mode: 'pass' | 'down' | 'cut-answers' = 'pass'
  /** Answers cut so far (by `cut-answers` mode or by a rule). */
  cutAnswers = 0
  /** The head of every request that went through, in order. */
  readonly requests: string[] = []
  /** Every answer that started to come back: its request's head and its status code (cut ones too). */
  readonly answers: Array<{ head: string; status: number }> = []
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private port = 0
  private target: URL
  private cutRules: CutRule[] = []
  private holdRule: RegExp | null = null
  private downRule: RegExp | null = null
  private held: Array<() => void> = []
  private readonly requestWaiters: Array<{ match: RegExp; resolve: () => void }> = []

  constructor(target: string) {
    this.target = new URL(target)
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  /** Answers held back right now (by `holdAnswersOf`). */
  get heldAnswers() {
    return this.held.length
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      if (this.mode === 'down') return client.destroy()
      const upstream = connect(Number(this.target.port), this.target.hostname)
      this.track(client)
      this.track(upstream)
      let head = ''
      /** This connection's answers are held back (the rest of one already held follows it). */
      let holding = false
      const pending: Buffer[] = []
      client.on('data', (chunk: Buffer) => {
        const start = chunk.toString('latin1', 0, 4096)
        if (REQUEST_LINE.test(start)) {
          head = start.split('\r\n\r\n')[0]
          if (this.downRule?.test(head)) {
            // Never sent: the network went away just before it.
            this.downRule = null
            return this.down()
          }
          this.requests.push(head)
          for (const waiter of [...this.requestWaiters]) {
            if (waiter.match.test(head)) {
              this.requestWaiters.splice(this.requestWaiters.indexOf(waiter), 1)
              waiter.resolve()
            }
          }
        }
        upstream.write(chunk)
      })
      upstream.on('data', (chunk: Buffer) => {
        const status = /^HTTP\/1\.[01] (\d{3}) /.exec(chunk.toString('latin1', 0, 16))
        if (status) this.answers.push({ head, status: Number(status[1]) })
        if (this.mode === 'cut-answers' && !head.startsWith('OPTIONS ')) return this.cut(client, upstream)
        const rule = head.startsWith('OPTIONS ') ? undefined : this.cutRules.find((candidate) => candidate.left > 0 && candidate.match.test(head))
        if (rule && !holding) {
          rule.left--
          this.cut(client, upstream)
          if (rule.thenDown) this.down()
          return
        }
        if (holding || (this.holdRule && this.holdRule.test(head))) {
          if (!holding) {
            holding = true
            this.held.push(() => {
              holding = false
              for (const part of pending.splice(0)) client.write(part)
            })
          }
          pending.push(chunk)
          return
        }
        client.write(chunk)
      })
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => {
        // A held answer is released before its connection goes.
        if (!holding) client.destroy()
        else this.held.push(() => client.destroy())
      })
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  private cut(client: Socket, upstream: Socket) {
    this.cutAnswers++
    client.destroy()
    upstream.destroy()
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

  /** Online again (rules stay). */
  up() {
    this.mode = 'pass'
  }

  /** From now on, every answer is lost after the server did the work (open connections are cut too, so new ones are made). */
  cutAnswersFromNowOn() {
    this.mode = 'cut-answers'
    this.cutAnswers = 0
    for (const socket of this.sockets) socket.destroy()
  }

  /** The answers of the next `times` requests whose head matches are lost after the server did the work. */
  cutAnswersOf(match: RegExp, times = 1, options: { thenDown?: boolean } = {}): CutRule {
    const rule = { match, left: times, thenDown: options.thenDown ?? false }
    this.cutRules.push(rule)
    return rule
  }

  /** Answers to requests whose head matches are held back (the server did the work) until `release()`. */
  holdAnswersOf(match: RegExp) {
    this.holdRule = match
  }

  /** Stops holding and cuts the connections of the answers held: they are lost. */
  loseHeld() {
    this.holdRule = null
    this.held = []
    for (const socket of this.sockets) socket.destroy()
  }

  /** The next request whose head matches never reaches the server: the proxy goes `down` just before it. */
  downBefore(match: RegExp) {
    this.downRule = match
  }

  /** Lets held answers through and stops holding. */
  release() {
    this.holdRule = null
    for (const flush of this.held.splice(0)) flush()
  }

  /** Resolves when a request whose head matches goes through the proxy (from now on). */
  nextRequest(match: RegExp): Promise<void> {
    return new Promise((resolve) => this.requestWaiters.push({ match, resolve }))
  }

  /** How many requests so far had a matching head. */
  count(match: RegExp): number {
    return this.requests.filter((head) => match.test(head)).length
  }

  /** The status codes the server answered (whether or not the client got them) to requests whose head matches, in order. */
  statuses(match: RegExp): number[] {
    return this.answers.filter((answer) => match.test(answer.head)).map((answer) => answer.status)
  }

  /** New connections go to another server (a restarted one on another port); open ones are cut. */
  retarget(url: string) {
    this.target = new URL(url)
    for (const socket of this.sockets) socket.destroy()
  }

  async close() {
    this.release()
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
