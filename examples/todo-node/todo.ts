/**
 * A command-line todo list that works offline: every command changes the
 * local store at once, and Roost's client syncs in the background whenever
 * the server can be reached. Run two copies (two "devices") with the same
 * account and they converge.
 *
 *   npx tsx examples/todo-node/todo.ts
 *
 * Settings (environment): ROOST_URL (default http://localhost:3030),
 * TODO_EMAIL and TODO_PASSWORD (the account; created if it does not exist),
 * TODO_FILE (the SQLite file, default ./todo.sqlite), TODO_LIST (the
 * collection id; by default one derived from the e-mail address).
 */
import { createHash, randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { createRoost, RoostError, signUp, type ClientStore, type MergeInput, type RecordView } from 'roost/client'
import { sqliteStore } from 'roost/client/sqlite'

interface Todo {
  title: string
  done: boolean
  createdAt: string
}

const url = process.env.ROOST_URL ?? 'http://localhost:3030'
const email = process.env.TODO_EMAIL ?? 'todo-demo@example.com'
const password = process.env.TODO_PASSWORD ?? 'todo demo password'
const file = process.env.TODO_FILE ?? 'todo.sqlite'
// Collection ids are global on the server: derive one that is this account's own.
const listId = process.env.TODO_LIST ?? `todos-${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)}`

const info = (message: string) => process.stderr.write(`${message}\n`)

/** The SQLite store (roost/client/sqlite) keeps the list and the writes not yet synced across restarts. */
function openStore(): { store: ClientStore; kind: string } {
  return { store: sqliteStore(file), kind: `SQLite file ${file}` }
}

/** Both devices changed one todo: keep the fields each of them changed (a three-way merge against the version both started from). */
function mergeTodo({ local, localDeleted, server, base }: MergeInput) {
  if (localDeleted || !server || server.deleted) return localDeleted ? ({ deleted: true } as const) : { data: local }
  const mine = local as unknown as Todo
  const theirs = server.data as unknown as Todo
  const before = (base?.deleted ? null : (base?.data as unknown as Todo | undefined)) ?? theirs
  return {
    data: {
      title: mine.title !== before.title ? mine.title : theirs.title,
      done: mine.done !== before.done ? mine.done : theirs.done,
      createdAt: theirs.createdAt
    }
  }
}

// An account of its own: sign up, unless it exists already (409) or the server cannot be reached now.
try {
  await signUp(url, email, password)
  info(`signed up as ${email}`)
} catch (error) {
  if (!(error instanceof RoostError) || (error.code !== 409 && error.code !== 0)) throw error
  if (error.code === 0) info(`offline: ${error.message}; working locally`)
}

const { store, kind } = openStore()
info(`store: ${kind}; list ${listId} on ${url}`)
const roost = createRoost({ url, auth: { email, password }, store })
const todos = roost.collection<Todo>(listId, { conflictPolicy: mergeTodo })

const ordered = async (): Promise<Array<RecordView<Todo>>> =>
  (await todos.list()).sort((a, b) => a.data.createdAt.localeCompare(b.data.createdAt) || a.id.localeCompare(b.id))

async function pick(argument: string): Promise<RecordView<Todo> | undefined> {
  const list = await ordered()
  const found = list[Number(argument) - 1]
  if (!found) console.log(`no todo number ${argument} (try "list")`)
  return found
}

/** Waits for the sync, but not forever: offline, the writes stay queued. */
async function sync(seconds: number) {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, seconds * 1000, 'timeout').unref())
  const result = await Promise.race([roost.whenSynced().then(() => 'synced' as const), timeout]).catch((error: Error) => `error: ${error.message}`)
  if (result === 'timeout') console.log(`not synced yet: ${roost.status.get().pending} change(s) waiting for the server`)
  else console.log(result)
}

const commands: Record<string, (argument: string) => Promise<void>> = {
  async add(title) {
    if (!title) return void console.log('usage: add <title>')
    await todos.put(`t-${randomUUID()}`, { title, done: false, createdAt: new Date().toISOString() })
    console.log(`added: ${title}`)
  },
  async done(argument) {
    const todo = await pick(argument)
    if (todo) await todos.patch(todo.id, { done: !todo.data.done })
  },
  async rm(argument) {
    const todo = await pick(argument)
    if (todo) await todos.delete(todo.id)
  },
  async list() {
    const list = await ordered()
    list.forEach((todo, index) => console.log(`${index + 1}. [${todo.data.done ? 'x' : ' '}] ${todo.data.title}${todo.pending ? ' *' : ''}`))
    console.log(`(${list.length} todo${list.length === 1 ? '' : 's'})`)
  },
  async sync(argument) {
    await sync(Number(argument) || 10)
  },
  async status() {
    const status = roost.status.get()
    console.log(`pending ${status.pending}, conflicts ${status.conflicts}, rejected ${status.rejected}, ${status.connected ? 'online' : 'offline'}${status.fatal ? `, stopped: ${status.fatal.message}` : ''}`)
  },
  async help() {
    console.log('add <title> | done <n> | rm <n> | list | sync [seconds] | status | quit   (* = not on the server yet)')
  }
}

const input = createInterface({ input: process.stdin, terminal: process.stdin.isTTY })
if (process.stdin.isTTY) {
  info('type "help" for the commands')
  input.setPrompt('> ')
  input.prompt()
}
for await (const line of input) {
  const [command = '', ...rest] = line.trim().split(/\s+/)
  if (command === 'quit' || command === 'exit') break
  if (command !== '') {
    const run = commands[command]
    if (run) await run(rest.join(' '))
    else console.log(`unknown command "${command}" (try "help")`)
  }
  if (process.stdin.isTTY) input.prompt()
}
input.close()
await roost.close()
