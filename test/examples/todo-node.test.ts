import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sqlite } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { account } from '../client/helpers.js'

/**
 * examples/todo-node: the command-line todo app, run as a user runs it
 * (`npx tsx examples/todo-node/todo.ts`, commands on its standard input)
 * against a real listening server, directly or through a link that takes
 * the network away.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const APP = 'examples/todo-node/todo.ts'

/**
 * The network between the app and the server: down, nothing listens on the
 * app's port (connections are refused at once, as when offline); up, a
 * forwarder on that port passes everything to the server.
 */
class Link {
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private port = 0

  constructor(private readonly target: string) {}

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  /** Picks a free port and leaves it closed. */
  async reserve(): Promise<this> {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    this.port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    return this
  }

  async up(): Promise<void> {
    const target = new URL(this.target)
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname)
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
        socket.on('error', () => undefined)
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve))
  }

  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)))
    this.server = null
  }
}

/** One running copy of the app: commands in, lines out. */
class TodoApp {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  private readonly exited: Promise<number | null>

  constructor(env: Record<string, string>) {
    this.child = spawn('npx', ['tsx', APP], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()))
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => this.child.on('close', resolve))
  }

  /** Sends one command and waits until the output has grown by a line matching `until`. */
  async run(command: string, until: RegExp, timeoutMs = 20_000): Promise<string> {
    const from = this.stdout.length
    this.child.stdin.write(`${command}\n`)
    const end = Date.now() + timeoutMs
    while (!until.test(this.stdout.slice(from))) {
      if (Date.now() > end) throw new Error(`"${command}": no output matching ${until} within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return this.stdout.slice(from)
  }

  /** `list`'s lines. */
  async list(): Promise<string[]> {
    const out = await this.run('list', /\(\d+ todos?\)\n$/)
    return out.trim().split('\n').slice(0, -1)
  }

  async quit(): Promise<number | null> {
    this.child.stdin.end('quit\n')
    return this.exited
  }

  kill() {
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }
}

describe('examples/todo-node [sqlite]', () => {
  let server: TestServer
  let dir: string
  const apps: TodoApp[] = []
  const links: Link[] = []
  const start = (env: Record<string, string>) => {
    const app = new TodoApp(env)
    apps.push(app)
    return app
  }

  beforeAll(async () => {
    server = await startServer(sqlite)
  })
  afterEach(async () => {
    for (const app of apps.splice(0)) app.kill()
    for (const link of links.splice(0)) await link.down()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  afterAll(async () => {
    await server?.close()
  })

  const envFor = (user: { email: string; password: string }, url: string, name: string) => ({
    ROOST_URL: url,
    TODO_EMAIL: user.email,
    TODO_PASSWORD: user.password,
    TODO_FILE: path.join(dir, `${name}.sqlite`)
  })

  it('two copies of the app with one account share their todos through the server', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'roost-todo-'))
    const user = { email: `todo-${Date.now()}@example.com`, password: 'a long enough password' }
    const laptop = start(envFor(user, server.url, 'laptop'))
    await laptop.run('add Buy milk', /added: Buy milk\n/)
    await laptop.run('add Water the plants', /added: Water the plants\n/)
    await laptop.run('done 1', /^/)
    expect(await laptop.run('sync', /synced\n/)).toBe('synced\n')
    expect(await laptop.list()).toEqual(['1. [x] Buy milk', '2. [ ] Water the plants'])
    expect(laptop.stderr).toContain(`signed up as ${user.email}`)

    const phone = start(envFor(user, server.url, 'phone'))
    await phone.run('sync', /synced\n/)
    expect(await phone.list()).toEqual(['1. [x] Buy milk', '2. [ ] Water the plants'])
    await phone.run('rm 1', /^/)
    await phone.run('sync', /synced\n/)
    await laptop.run('sync', /synced\n/)
    expect(await laptop.list()).toEqual(['1. [ ] Water the plants'])
    expect(await laptop.quit()).toBe(0)
    expect(await phone.quit()).toBe(0)
  })

  it('works offline and pushes what was done offline once the server is back', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'roost-todo-'))
    const user = await account(server.url)
    const link = await new Link(server.url).reserve()
    links.push(link)
    const app = start(envFor(user, link.url, 'offline'))
    await app.run('add Pack the tent', /added: Pack the tent\n/)
    await app.run('add Buy matches', /added: Buy matches\n/)
    expect(await app.list()).toEqual(['1. [ ] Pack the tent *', '2. [ ] Buy matches *'])
    expect(await app.run('sync 1', /\n$/)).toBe('not synced yet: 2 change(s) waiting for the server\n')
    expect(app.stderr).toMatch(/offline: .*working locally/)

    await link.up()
    expect(await app.run('sync', /synced\n/)).toBe('synced\n')
    expect(await app.list()).toEqual(['1. [ ] Pack the tent', '2. [ ] Buy matches'])
    expect(await app.quit()).toBe(0)

    // What a second device (another copy, straight to the server) finds there.
    const other = start(envFor(user, server.url, 'other'))
    await other.run('sync', /synced\n/)
    expect(await other.list()).toEqual(['1. [ ] Pack the tent', '2. [ ] Buy matches'])
    expect(await other.quit()).toBe(0)
  })

  it('keeps the list and unsynced changes in its SQLite file across a restart', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'roost-todo-'))
    const user = await account(server.url)
    const link = await new Link(server.url).reserve()
    links.push(link)
    const first = start(envFor(user, link.url, 'device'))
    await first.run('add Written offline', /added: Written offline\n/)
    expect(first.stderr).toMatch(/store: SQLite file/)
    expect(await first.quit()).toBe(0)

    await link.up()
    const again = start(envFor(user, link.url, 'device'))
    expect(await again.list()).toEqual(['1. [ ] Written offline *'])
    await again.run('sync', /synced\n/)
    expect(await again.list()).toEqual(['1. [ ] Written offline'])
    expect(await again.quit()).toBe(0)
  })
})
