import { randomBytes } from 'node:crypto'
import { MemoryStorage } from '@feathersjs/authentication-client'
import restClientModule from '@feathersjs/rest-client'
import socketioClientModule from '@feathersjs/socketio-client'
import { io, type Socket } from 'socket.io-client'
import { changesClient, createClient, type ClientApplication, type RecordItem } from '../../src/client.js'
import type { User } from '../../src/services/users/users.shared.js'

// CommonJS packages: their default export is `.default` under Node's ESM loader.
const rest = restClientModule.default
const socketio = socketioClientModule.default

export type Transport = 'rest' | 'socketio'
export const TRANSPORTS: Transport[] = ['rest', 'socketio']

export interface TestClient {
  client: ClientApplication
  transport: Transport
  user: User
  email: string
  password: string
  close(): void
}

/** An unauthenticated client. Each has its own token store, so clients never share a login. */
export function connect(url: string, transport: Transport): { client: ClientApplication; close(): void } {
  if (transport === 'rest') {
    return { client: createClient(rest(url).fetch(fetch), { storage: new MemoryStorage() }), close() {} }
  }
  const socket: Socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  // socket.io-client ships separate ESM and CJS typings for the same class.
  return { client: createClient(socketio(socket as never), { storage: new MemoryStorage() }), close: () => socket.disconnect() }
}

export const newEmail = () => `user-${randomBytes(5).toString('hex')}@example.com`

/** Signs a new user up and returns a client logged in as them. */
export async function signedIn(url: string, transport: Transport, email = newEmail()): Promise<TestClient> {
  const password = `pw-${randomBytes(8).toString('hex')}`
  const { client, close } = connect(url, transport)
  const user = await client.service('users').create({ email, password })
  await client.authenticate({ strategy: 'local', email, password })
  return { client, transport, user, email, password, close }
}

/** The Feathers error a call failed with (or a failure if it succeeded). */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; name: string; message: string; data?: any }> {
  try {
    await promise
  } catch (error) {
    return error as { code: number; name: string; message: string; data?: any }
  }
  throw new Error('Expected the call to fail, but it succeeded')
}

/** Headers for raw `fetch` calls to the REST API as a signed-in client: its token and a JSON body. */
export async function jsonHeaders(client: TestClient): Promise<Record<string, string>> {
  const accessToken = await client.client.authentication.getAccessToken()
  return { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }
}

/** Another connection logged in as an existing user: "another device". */
export async function device(url: string, transport: Transport, user: TestClient) {
  const connection = connect(url, transport)
  await connection.client.authenticate({ strategy: 'local', email: user.email, password: user.password })
  return connection
}

/** Resolves once `predicate` holds, polling briefly; fails the test after 5 s. */
export async function eventually(predicate: () => boolean, what: string) {
  const deadline = Date.now() + 5000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A full pull of a collection's change feed from the beginning, page by page. */
export async function allChanges(client: ClientApplication, collectionId: string): Promise<RecordItem[]> {
  const changes: RecordItem[] = []
  let since: string | undefined
  for (;;) {
    const page = await changesClient(client, collectionId).find({ query: { ...(since ? { since } : {}), limit: 300 } })
    changes.push(...page.changes)
    since = page.cursor
    if (!page.more) return changes
  }
}
