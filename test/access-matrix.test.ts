import { randomBytes, randomUUID } from 'node:crypto'
import { MemoryStorage } from '@feathersjs/authentication-client'
import restClientModule from '@feathersjs/rest-client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  changesClient,
  collectionBatchesClient,
  collectionKeysClient,
  createClient,
  keyEpochsClient,
  locksClient,
  membersClient,
  nestedService,
  recordsClient,
  type ClientApplication,
  type Role,
  type User
} from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { connect, newEmail, TRANSPORTS, type Transport } from './helpers/clients.js'
import { keysFor, publicKey, wrappedKey } from './helpers/keys.js'
import { startServer, type TestServer } from './helpers/server.js'

// A CommonJS package: under Node's ESM loader its default export is `.default`.
const rest = restClientModule.default

/**
 * THE ACCESS MATRIX: every call on a shared collection (and on its
 * invitations), by every kind of caller, with the one status it must get.
 *
 * Why 404 for strangers: someone who is not a member must not be able to
 * tell a collection that exists from one that does not, or ids could be
 * probed (does "acme-payroll" exist?). So a stranger gets the very same 404
 * for an existing collection as for a missing one — checked below for every
 * 404 row. Invitations work alike: only their invitee and the collection's
 * owners and admins can see one; to everyone else, members without `manage`
 * included, it does not exist (404), since they cannot list them either.
 *
 * Why 403 for members whose role is too low: they already know the
 * collection exists (they can read it), so hiding it would be pointless; a
 * 403 tells them what they lack instead.
 *
 * 401: no token at all, on every call, before anything else is looked at.
 *
 * Success is 200, or 201 for a `create`. Over REST the HTTP status is
 * checked exactly; socket.io answers have no status, so there a 2xx cell
 * means "the call succeeded". Every allowed call is valid (fresh records
 * with their current versions, leases actually held, batches actually
 * staged…), so a 2xx proves access — and every denied call would succeed
 * if the check were missing, so a 4xx proves denial.
 *
 * Variants: "(guest …)" rows act on a separate user (the guest) whose
 * membership each case sets first; "own" invitation rows are addressed to
 * the caller (who can see them, hence 403 rather than 404 where they may
 * not act); other invitation rows to a separate user (the invitee).
 *
 * The operator view (server-stats) is not about a collection: the owner's
 * address is the server's one `operators` entry, so only the owner gets 200.
 * Exports are downloads over REST (plain GET with the token); socket.io
 * refuses them with 400.
 *
 * Encryption keys: every account but the guest's and the invitee's has a
 * public key, and the shared collection is encrypted (epoch 1 for the
 * reader, writer, admin and owner). Public keys are readable by anyone
 * signed in and writable by their owner only; "another's" is the guest's.
 */
const MATRIX = `
| call                                   | anonymous | stranger | reader | writer | admin | owner |
| -------------------------------------- | --------- | -------- | ------ | ------ | ----- | ----- |
| collections.find                       | 401       | 200      | 200    | 200    | 200   | 200   |
| collections.get                        | 401       | 404      | 200    | 200    | 200   | 200   |
| collections.create                     | 401       | 201      | 201    | 201    | 201   | 201   |
| collections.patch (rename)             | 401       | 404      | 403    | 403    | 200   | 200   |
| collections.remove                     | 401       | 404      | 403    | 403    | 403   | 200   |
| records.find                           | 401       | 404      | 200    | 200    | 200   | 200   |
| records.get                            | 401       | 404      | 200    | 200    | 200   | 200   |
| records.create                         | 401       | 404      | 403    | 201    | 201   | 201   |
| records.update                         | 401       | 404      | 403    | 200    | 200   | 200   |
| records.patch                          | 401       | 404      | 403    | 200    | 200   | 200   |
| records.remove                         | 401       | 404      | 403    | 200    | 200   | 200   |
| changes.find                           | 401       | 404      | 200    | 200    | 200   | 200   |
| subscriptions.create                   | 401       | 404      | 201    | 201    | 201   | 201   |
| batches.create (open)                  | 401       | 201      | 201    | 201    | 201   | 201   |
| batches.append                         | 401       | 404      | 403    | 200    | 200   | 200   |
| batches.commit                         | 401       | 404      | 403    | 200    | 200   | 200   |
| locks.create exclusive                 | 401       | 404      | 403    | 201    | 201   | 201   |
| locks.create shared                    | 401       | 404      | 201    | 201    | 201   | 201   |
| locks.find                             | 401       | 404      | 200    | 200    | 200   | 200   |
| locks.get                              | 401       | 404      | 200    | 200    | 200   | 200   |
| locks.patch (renew)                    | 401       | 404      | 200    | 200    | 200   | 200   |
| locks.remove (release)                 | 401       | 404      | 200    | 200    | 200   | 200   |
| locks.remove (break another's)         | 401       | 404      | 403    | 403    | 403   | 200   |
| collection-batches.find                | 401       | 404      | 200    | 200    | 200   | 200   |
| export (one collection)                | 401       | 404      | 200    | 200    | 200   | 200   |
| export (everything)                    | 401       | 200      | 200    | 200    | 200   | 200   |
| server-stats.find (owner is operator)  | 401       | 403      | 403    | 403    | 403   | 200   |
| members.find                           | 401       | 404      | 200    | 200    | 200   | 200   |
| members.get                            | 401       | 404      | 200    | 200    | 200   | 200   |
| members.create (guest as reader)       | 401       | 404      | 403    | 403    | 201   | 201   |
| members.create (guest as owner)        | 401       | 404      | 403    | 403    | 403   | 201   |
| members.patch (guest reader → writer)  | 401       | 404      | 403    | 403    | 200   | 200   |
| members.patch (guest reader → owner)   | 401       | 404      | 403    | 403    | 403   | 200   |
| members.patch (guest owner → reader)   | 401       | 404      | 403    | 403    | 403   | 200   |
| members.remove (guest reader)          | 401       | 404      | 403    | 403    | 200   | 200   |
| members.remove (guest owner)           | 401       | 404      | 403    | 403    | 403   | 200   |
| members.remove self (leave)            | 401       | 404      | 200    | 200    | 200   | 200   |
| invitations.create                     | 401       | 404      | 403    | 403    | 201   | 201   |
| invitations.create as owner            | 401       | 404      | 403    | 403    | 403   | 201   |
| invitations.find ?collectionId         | 401       | 404      | 403    | 403    | 200   | 200   |
| invitations.find own                   | 401       | 200      | 200    | 200    | 200   | 200   |
| invitations.get                        | 401       | 404      | 404    | 404    | 200   | 200   |
| invitations.get own                    | 401       | 200      | 200    | 200    | 200   | 200   |
| invitations.patch (answer)             | 401       | 404      | 404    | 404    | 403   | 403   |
| invitations.patch own (decline)        | 401       | 200      | 200    | 200    | 200   | 200   |
| invitations.remove (revoke)            | 401       | 404      | 404    | 404    | 200   | 200   |
| invitations.remove an owner invitation | 401       | 404      | 404    | 404    | 403   | 200   |
| invitations.remove own                 | 401       | 403      | 403    | 403    | 200   | 200   |
| user-keys.get                          | 401       | 200      | 200    | 200    | 200   | 200   |
| user-keys.update own                   | 401       | 200      | 200    | 200    | 200   | 200   |
| user-keys.update another's             | 401       | 403      | 403    | 403    | 403   | 403   |
| user-keys.patch own                    | 401       | 200      | 200    | 200    | 200   | 200   |
| user-keys.patch another's              | 401       | 403      | 403    | 403    | 403   | 403   |
| key-epochs.find                        | 401       | 404      | 200    | 200    | 200   | 200   |
| key-epochs.create                      | 401       | 404      | 403    | 403    | 201   | 201   |
| keys.find                              | 401       | 404      | 200    | 200    | 200   | 200   |
| keys.find another's                    | 401       | 404      | 403    | 403    | 200   | 200   |
| keys.create                            | 401       | 404      | 403    | 403    | 201   | 201   |
`

const ACTORS = ['anonymous', 'stranger', 'reader', 'writer', 'admin', 'owner'] as const
type Actor = (typeof ACTORS)[number]
type Status = 200 | 201 | 401 | 403 | 404

const ERROR_NAMES: Record<number, string> = { 401: 'NotAuthenticated', 403: 'Forbidden', 404: 'NotFound' }

interface Row {
  call: string
  expected: Record<Actor, Status>
}

function parseMatrix(text: string): Row[] {
  const lines = text.trim().split('\n').map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
  const [header, , ...body] = lines
  if (header.slice(1).join() !== ACTORS.join()) throw new Error(`The matrix columns must be: call, ${ACTORS.join(', ')}`)
  return body.map(([call, ...cells]) => {
    const statuses = cells.map(Number)
    if (statuses.length !== ACTORS.length || !statuses.every((status) => [200, 201, 401, 403, 404].includes(status))) {
      throw new Error(`Matrix row "${call}" must have one status (200, 201, 401, 403 or 404) per actor`)
    }
    return { call, expected: Object.fromEntries(ACTORS.map((actor, index) => [actor, statuses[index]])) as Record<Actor, Status> }
  })
}

const ROWS = parseMatrix(MATRIX)

// ---------------------------------------------------------------------------
// The world: one server per backend, one shared collection, one signed-in
// connection per actor and transport.

interface Account {
  user: User
  email: string
  password: string
}

/** A connection; over REST it records the HTTP status of every response. */
interface Connection {
  client: ClientApplication
  statuses: number[]
  close(): void
}

function openConnection(url: string, transport: Transport): Connection {
  if (transport === 'rest') {
    const statuses: number[] = []
    const recordingFetch = async (input: string, init?: RequestInit) => {
      const response = await fetch(input, init)
      statuses.push(response.status)
      return response
    }
    return { client: createClient(rest(url).fetch(recordingFetch), { storage: new MemoryStorage() }), statuses, close() {} }
  }
  const { client, close } = connect(url, transport)
  return { client, statuses: [], close }
}

interface World {
  server: TestServer
  /** The shared collection: the owner's, with a reader, a writer and an admin. */
  collectionId: string
  accounts: Record<Exclude<Actor, 'anonymous'> | 'guest' | 'invitee', Account>
  /** The owner over REST, arranging cases (never the connection under test). */
  arranger: ClientApplication
}

/** One cell being run. */
interface Cell {
  world: World
  transport: Transport
  actor: Actor
  client: ClientApplication
  /** The caller; undefined when anonymous. */
  user: User | undefined
  /** The HTTP statuses of the actor's REST connection: calls made with plain fetch record theirs here. */
  statuses: number[]
}

const now = () => new Date().toISOString()
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString()
const ignore = () => undefined

// ---------------------------------------------------------------------------
// How each call of the matrix is made.

interface Arranged {
  /** The collection (or invitation) the call is about; the existence probe swaps in one that does not exist. */
  target: string
}

interface Case<A extends Arranged> {
  /** Which 404 a stranger must get: the collection's or the invitation's (none: the call is not about one). */
  scope: 'collection' | 'invitation' | 'none'
  /** Only over socket.io, and why. */
  socketOnly?: string
  /** Only over REST, and why (socket.io answers 400). */
  restOnly?: string
  /** Why the existence probe cannot be made for this row. */
  noProbe?: string
  arrange?(cell: Cell): Promise<A>
  /** Exactly one call, by the actor, on `arranged.target`. */
  act(cell: Cell, arranged: A): Promise<unknown>
  /** Further checks on an allowed call's result. */
  verify?(cell: Cell, result: unknown): void
  cleanup?(cell: Cell, arranged: A, result: unknown): Promise<void>
}

type AnyCase = Case<Arranged & Record<string, any>>
const define = <A extends Arranged>(definition: Case<A>): AnyCase => definition as unknown as AnyCase

const shared = async (cell: Cell): Promise<Arranged> => ({ target: cell.world.collectionId })

/** A new collection of the owner's with the same reader, writer and admin (and the guest as a second owner). */
async function freshCollection(world: World, withCoOwner = false): Promise<string> {
  const { id } = await world.arranger.service('collections').create({ name: 'fresh' })
  const members = membersClient(world.arranger, id)
  for (const role of ['reader', 'writer', 'admin'] as const) await members.create({ userId: world.accounts[role].user.id, role })
  if (withCoOwner) await members.create({ userId: world.accounts.guest.user.id, role: 'owner' })
  return id
}

/** Puts the guest in the shared collection with `role`, or out of it. */
async function setGuest(world: World, role: Role | undefined): Promise<Arranged & { guestId: string }> {
  const members = membersClient(world.arranger, world.collectionId)
  const guestId = world.accounts.guest.user.id
  const current = await members.get(guestId).then(
    (member) => member.role,
    (error: { code?: number }) => {
      if (error.code === 404) return undefined
      throw error
    }
  )
  if (current !== role) {
    if (role === undefined) await members.remove(guestId)
    else if (current === undefined) await members.create({ userId: guestId, role })
    else await members.patch(guestId, { role })
  }
  return { target: world.collectionId, guestId }
}

/** A fresh record in the shared collection, with its version: what an allowed write is based on. */
async function freshRecord(cell: Cell) {
  const record = await recordsClient(cell.world.arranger, cell.world.collectionId).create({ data: { n: 0 } })
  return { target: cell.world.collectionId, recordId: record.id, version: record.version }
}

/** A lease the caller holds (given straight to storage, so strangers hold one too: only access can refuse them). */
async function heldLock(cell: Cell) {
  const holder = `h-${randomBytes(4).toString('hex')}`
  if (cell.user !== undefined) {
    await cell.world.server.storage.acquireLock({
      collectionId: cell.world.collectionId,
      userId: cell.user.id,
      holder,
      mode: 'shared',
      expiresAt: inSeconds(300),
      now: now()
    })
  }
  return { target: cell.world.collectionId, holder }
}

type Holding = Arranged & { holder: string }

const releaseLock = async (cell: Cell, { holder }: Holding) => {
  if (cell.user !== undefined) await cell.world.server.storage.releaseLock(cell.world.collectionId, cell.user.id, holder, now())
}

/** A batch the caller opened (a made-up id when anonymous). */
async function openBatch(cell: Cell) {
  const batchId = cell.user === undefined ? randomUUID() : (await cell.client.service('batches').create({})).id
  return { target: cell.world.collectionId, batchId }
}

const abortBatch = async (cell: Cell, batchId: string | undefined) => {
  if (cell.user !== undefined && batchId !== undefined) await cell.world.server.storage.abortBatch(batchId, cell.user.id, now()).catch(ignore)
}

/** A pending invitation to the shared collection for the invitee, made by the owner. */
async function invitationForInvitee(cell: Cell, role: Role = 'reader') {
  const invitation = await cell.world.arranger
    .service('invitations')
    .create({ collectionId: cell.world.collectionId, role, userId: cell.world.accounts.invitee.user.id })
  return { target: invitation.id }
}

/**
 * A pending invitation addressed to the caller. Given straight to storage:
 * the API refuses to invite someone already a member (they need a role
 * change), yet an invitation sent before they joined can still be theirs.
 */
async function invitationForCaller(cell: Cell) {
  const { world } = cell
  const invitation = await world.server.storage.createInvitation(
    {
      id: randomUUID(),
      collectionId: world.collectionId,
      role: 'reader',
      inviteeUserId: cell.user?.id ?? world.accounts.invitee.user.id,
      inviteeEmail: null,
      invitedBy: world.accounts.owner.user.id,
      expiresAt: inSeconds(3600),
      keys: null
    },
    now()
  )
  return { target: invitation.id }
}

/** The shared collection's next epoch, with a key for every member that has a public key (the guest has none), at its current version. */
async function nextEpoch(cell: Cell) {
  const { world } = cell
  const storage = world.server.storage
  const epochs = await storage.listKeyEpochs(world.collectionId, world.accounts.owner.user.id)
  const members = await storage.listMemberRoles(world.collectionId)
  const holders: Array<{ userId: string; keyVersion: number }> = []
  for (const { userId } of members) {
    const key = await storage.getUserKey(userId)
    if (key !== undefined) holders.push({ userId, keyVersion: key.keyVersion })
  }
  return { target: world.collectionId, epoch: (epochs.at(-1)?.epoch ?? 0) + 1, keys: keysFor(holders) }
}

/** The caller's key version now (0 without a key, or anonymous). */
async function ownKey(cell: Cell) {
  const key = cell.user === undefined ? undefined : await cell.world.server.storage.getUserKey(cell.user.id)
  return { target: cell.user?.id ?? randomUUID(), keyVersion: key?.keyVersion ?? 0 }
}

/** Deletes what the arranger (its owner) made for the cell. */
const deleteCollection = async (cell: Cell, { target }: Arranged) => {
  await cell.world.server.storage.deleteCollection({ id: target, actorId: cell.world.accounts.owner.user.id }).catch(ignore)
}

/** A lease held by the guest (given straight to storage): what an owner breaks. */
async function guestLock(cell: Cell) {
  const holder = `g-${randomBytes(4).toString('hex')}`
  await cell.world.server.storage.acquireLock({
    collectionId: cell.world.collectionId,
    userId: cell.world.accounts.guest.user.id,
    holder,
    mode: 'shared',
    expiresAt: inSeconds(300),
    now: now()
  })
  return { target: cell.world.collectionId, holder }
}

/**
 * An export, as a browser downloads it: a plain GET with the caller's token
 * over REST (its status recorded; an error answer thrown as the Feathers
 * error it is), its NDJSON lines parsed. Over socket.io, the service call,
 * which must be refused.
 */
async function download(cell: Cell, path: string): Promise<unknown[]> {
  if (cell.transport !== 'rest') return nestedService<{ find(): Promise<unknown[]> }>(cell.client, path, ['find']).find()
  const token = cell.user === undefined ? null : await cell.client.authentication.getAccessToken()
  const response = await fetch(`${cell.world.server.url}/${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } })
  cell.statuses.push(response.status)
  if (!response.ok) throw await response.json()
  return (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)
}

const CASES: Record<string, AnyCase> = {
  'collections.find': define({
    scope: 'none',
    arrange: shared,
    act: ({ client }) => client.service('collections').find({ query: { $limit: 1000 } }),
    // Members see the shared collection listed with their role; a stranger does not see it at all.
    verify: ({ world, actor }, result) => {
      const listed = (result as { data: Array<{ id: string; role: string }> }).data.find((item) => item.id === world.collectionId)
      expect(listed?.role).toBe(actor === 'stranger' ? undefined : actor)
    }
  }),
  'collections.get': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => client.service('collections').get(target)
  }),
  'collections.create': define({
    scope: 'none',
    arrange: shared,
    act: ({ client, actor }) => client.service('collections').create({ name: `made by ${actor}` }),
    cleanup: async ({ world, user }, _arranged, result) => {
      const id = (result as { id?: string } | undefined)?.id
      // Made by the caller under test: its owner.
      if (id !== undefined && user !== undefined) await world.server.storage.deleteCollection({ id, actorId: user.id }).catch(ignore)
    }
  }),
  'collections.patch (rename)': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client, actor }, { target }) => client.service('collections').patch(target, { name: `renamed by ${actor}` })
  }),
  'collections.remove': define({
    scope: 'collection',
    arrange: async ({ world }) => ({ target: await freshCollection(world) }),
    act: ({ client }, { target }) => client.service('collections').remove(target),
    cleanup: deleteCollection
  }),

  'records.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => recordsClient(client, target).find()
  }),
  'records.get': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => recordsClient(client, target).get('seed')
  }),
  'records.create': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client, actor }, { target }) => recordsClient(client, target).create({ id: randomUUID(), data: { by: actor } })
  }),
  'records.update': define({
    scope: 'collection',
    arrange: freshRecord,
    act: ({ client, actor }, { target, recordId, version }) => recordsClient(client, target).update(recordId, { data: { by: actor }, version })
  }),
  'records.patch': define({
    scope: 'collection',
    arrange: freshRecord,
    act: ({ client, actor }, { target, recordId, version }) => recordsClient(client, target).patch(recordId, { data: { by: actor }, version })
  }),
  'records.remove': define({
    scope: 'collection',
    arrange: freshRecord,
    act: ({ client }, { target, recordId, version }) => recordsClient(client, target).remove(recordId, { query: { version } })
  }),

  'changes.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => changesClient(client, target).find()
  }),

  'subscriptions.create': define({
    scope: 'collection',
    socketOnly: 'subscriptions exist only on socket.io (they join a realtime connection to the collection’s channel); REST answers 400',
    arrange: shared,
    act: ({ client }, { target }) => client.service('subscriptions').create({ collectionId: target }),
    cleanup: async ({ client }, { target }, result) => {
      if (result !== undefined) await client.service('subscriptions').remove(target).catch(ignore)
    }
  }),

  'batches.create (open)': define({
    scope: 'none',
    arrange: shared,
    act: ({ client }) => client.service('batches').create({}),
    cleanup: async (cell, _arranged, result) => abortBatch(cell, (result as { id?: string } | undefined)?.id)
  }),
  'batches.append': define({
    scope: 'collection',
    arrange: openBatch,
    act: ({ client, actor }, { target, batchId }) =>
      client.service('batches').append({ id: batchId, operations: [{ op: 'put', collectionId: target, id: randomUUID(), data: { by: actor }, ifNotExists: true }] }),
    cleanup: async (cell, { batchId }) => abortBatch(cell, batchId)
  }),
  'batches.commit': define({
    scope: 'collection',
    noProbe: 'nothing can be staged on a collection that does not exist, so there is no such commit to make',
    // The operation is staged straight in storage, as if appended while the caller could still write:
    // the commit must check access again by itself.
    arrange: async (cell) => {
      const arranged = await openBatch(cell)
      if (cell.user !== undefined) {
        await cell.world.server.storage.stageOperations(arranged.batchId, {
          userId: cell.user.id,
          operations: [{ op: 'put', collectionId: cell.world.collectionId, id: randomUUID(), data: { by: cell.actor }, baseVersion: null }],
          limits: cell.world.server.app.get('batches'),
          now: now()
        })
      }
      return arranged
    },
    act: ({ client }, { batchId }) => client.service('batches').commit({ id: batchId }),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'committed', operationCount: 1 }),
    cleanup: async (cell, { batchId }) => abortBatch(cell, batchId)
  }),

  'locks.create exclusive': define<Holding>({
    scope: 'collection',
    arrange: async ({ world }) => ({ target: world.collectionId, holder: `x-${randomBytes(4).toString('hex')}` }),
    act: ({ client }, { target, holder }) => locksClient(client, target).create({ holder }),
    verify: (_cell, result) => expect(result).toMatchObject({ mode: 'exclusive' }),
    cleanup: releaseLock
  }),
  'locks.create shared': define<Holding>({
    scope: 'collection',
    arrange: async ({ world }) => ({ target: world.collectionId, holder: `s-${randomBytes(4).toString('hex')}` }),
    act: ({ client }, { target, holder }) => locksClient(client, target).create({ holder, mode: 'shared' }),
    verify: (_cell, result) => expect(result).toMatchObject({ mode: 'shared' }),
    cleanup: releaseLock
  }),
  'locks.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => locksClient(client, target).find()
  }),
  'locks.get': define<Holding>({
    scope: 'collection',
    arrange: heldLock,
    act: ({ client }, { target, holder }) => locksClient(client, target).get(holder),
    cleanup: releaseLock
  }),
  'locks.patch (renew)': define<Holding>({
    scope: 'collection',
    arrange: heldLock,
    act: ({ client }, { target, holder }) => locksClient(client, target).patch(holder, { ttlSeconds: 120 }),
    cleanup: releaseLock
  }),
  'locks.remove (release)': define<Holding>({
    scope: 'collection',
    arrange: heldLock,
    act: ({ client }, { target, holder }) => locksClient(client, target).remove(holder),
    verify: (_cell, result) => expect(result).toMatchObject({ released: true }),
    cleanup: releaseLock
  }),

  "locks.remove (break another's)": define<Holding>({
    scope: 'collection',
    arrange: guestLock,
    act: ({ client }, { target, holder }) => locksClient(client, target).remove(holder, { query: { $break: true } }),
    verify: (_cell, result) => expect(result).toMatchObject({ released: true }),
    cleanup: async ({ world }, { holder }) => {
      await world.server.storage.releaseLock(world.collectionId, world.accounts.guest.user.id, holder, now())
    }
  }),

  'collection-batches.find': define({
    scope: 'collection',
    arrange: async (cell) => {
      // The caller's own open batch with an operation on the collection (straight to storage: readers cannot stage).
      const arranged = await openBatch(cell)
      if (cell.user !== undefined) {
        await cell.world.server.storage.stageOperations(arranged.batchId, {
          userId: cell.user.id,
          operations: [{ op: 'put', collectionId: cell.world.collectionId, id: randomUUID(), data: { by: cell.actor }, baseVersion: null }],
          limits: cell.world.server.app.get('batches'),
          now: now()
        })
      }
      return arranged
    },
    act: ({ client }, { target }) => collectionBatchesClient(client, target).find(),
    // Everyone sees their own batch; owners and admins see the others' too (none open at this moment but theirs).
    verify: ({ user }, result) => expect((result as Array<{ userId: string }>).map((batch) => batch.userId)).toContain(user?.id),
    cleanup: async (cell, { batchId }) => abortBatch(cell, batchId)
  }),

  'export (one collection)': define({
    scope: 'collection',
    restOnly: 'an export is a download (NDJSON), not a message; socket.io answers 400',
    arrange: shared,
    act: (cell, { target }) => download(cell, `collections/${target}/export`),
    verify: ({ world }, result) => {
      const [header, ...lines] = result as Array<{ collections?: Array<{ id: string }>; id?: string }>
      expect(header.collections?.map((collection) => collection.id)).toEqual([world.collectionId])
      expect(lines.map((line) => line.id)).toContain('seed')
    }
  }),
  'export (everything)': define({
    scope: 'none',
    restOnly: 'an export is a download (NDJSON), not a message; socket.io answers 400',
    arrange: shared,
    act: (cell) => download(cell, 'export'),
    // Members' exports hold the shared collection; a stranger's does not.
    verify: ({ world, actor }, result) => {
      const [header] = result as Array<{ collections: Array<{ id: string }> }>
      expect(header.collections.some((collection) => collection.id === world.collectionId)).toBe(actor !== 'stranger')
    }
  }),

  'server-stats.find (owner is operator)': define({
    scope: 'none',
    arrange: shared,
    act: ({ client }) => client.service('server-stats').find(),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'ok', counts: { collections: expect.any(Number) } })
  }),

  'members.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => membersClient(client, target).find()
  }),
  'members.get': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client, world }, { target }) => membersClient(client, target).get(world.accounts.owner.user.id)
  }),
  'members.create (guest as reader)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, undefined),
    act: ({ client }, { target, guestId }) => membersClient(client, target).create({ userId: guestId, role: 'reader' })
  }),
  'members.create (guest as owner)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, undefined),
    act: ({ client }, { target, guestId }) => membersClient(client, target).create({ userId: guestId, role: 'owner' })
  }),
  'members.patch (guest reader → writer)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, 'reader'),
    act: ({ client }, { target, guestId }) => membersClient(client, target).patch(guestId, { role: 'writer' })
  }),
  'members.patch (guest reader → owner)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, 'reader'),
    act: ({ client }, { target, guestId }) => membersClient(client, target).patch(guestId, { role: 'owner' })
  }),
  'members.patch (guest owner → reader)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, 'owner'),
    act: ({ client }, { target, guestId }) => membersClient(client, target).patch(guestId, { role: 'reader' })
  }),
  'members.remove (guest reader)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, 'reader'),
    act: ({ client }, { target, guestId }) => membersClient(client, target).remove(guestId)
  }),
  'members.remove (guest owner)': define({
    scope: 'collection',
    arrange: ({ world }) => setGuest(world, 'owner'),
    act: ({ client }, { target, guestId }) => membersClient(client, target).remove(guestId)
  }),
  'members.remove self (leave)': define({
    scope: 'collection',
    // A collection of its own, where the guest is a second owner so that even the owner may leave.
    arrange: async ({ world }) => ({ target: await freshCollection(world, true) }),
    act: ({ client, user }, { target }) => membersClient(client, target).remove(user?.id ?? randomUUID()),
    cleanup: deleteCollection
  }),

  'invitations.create': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => client.service('invitations').create({ collectionId: target, role: 'reader', email: newEmail() })
  }),
  'invitations.create as owner': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => client.service('invitations').create({ collectionId: target, role: 'owner', email: newEmail() })
  }),
  'invitations.find ?collectionId': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => client.service('invitations').find({ query: { collectionId: target } })
  }),
  'invitations.find own': define({
    scope: 'none',
    arrange: shared,
    act: ({ client }) => client.service('invitations').find()
  }),
  'invitations.get': define({
    scope: 'invitation',
    arrange: (cell) => invitationForInvitee(cell),
    act: ({ client }, { target }) => client.service('invitations').get(target)
  }),
  'invitations.get own': define({
    scope: 'invitation',
    arrange: invitationForCaller,
    act: ({ client }, { target }) => client.service('invitations').get(target)
  }),
  'invitations.patch (answer)': define({
    scope: 'invitation',
    arrange: (cell) => invitationForInvitee(cell),
    act: ({ client }, { target }) => client.service('invitations').patch(target, { status: 'declined' })
  }),
  'invitations.patch own (decline)': define({
    scope: 'invitation',
    arrange: invitationForCaller,
    act: ({ client }, { target }) => client.service('invitations').patch(target, { status: 'declined' }),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'declined' })
  }),
  'invitations.remove (revoke)': define({
    scope: 'invitation',
    arrange: (cell) => invitationForInvitee(cell),
    act: ({ client }, { target }) => client.service('invitations').remove(target),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'revoked' })
  }),
  'invitations.remove an owner invitation': define({
    scope: 'invitation',
    arrange: (cell) => invitationForInvitee(cell, 'owner'),
    act: ({ client }, { target }) => client.service('invitations').remove(target),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'revoked' })
  }),
  // The invitee sees it (so 403, not 404) but declines rather than revokes, unless they manage the collection anyway.
  'invitations.remove own': define({
    scope: 'invitation',
    arrange: invitationForCaller,
    act: ({ client }, { target }) => client.service('invitations').remove(target),
    verify: (_cell, result) => expect(result).toMatchObject({ status: 'revoked' })
  }),

  'user-keys.get': define({
    scope: 'none',
    arrange: async ({ world }) => ({ target: world.accounts.owner.user.id }),
    act: ({ client }, { target }) => client.service('user-keys').get(target),
    // The owner's passphrase copy is theirs alone.
    verify: ({ actor }, result) => expect(Object.hasOwn(result as object, 'passphraseWrap')).toBe(actor === 'owner')
  }),
  'user-keys.update own': define<Arranged & { keyVersion: number }>({
    scope: 'none',
    arrange: ownKey,
    act: ({ client }, { target, keyVersion }) => client.service('user-keys').update(target, { publicKey: publicKey(), baseKeyVersion: keyVersion }),
    verify: ({ user }, result) => expect(result).toMatchObject({ userId: user?.id })
  }),
  "user-keys.update another's": define({
    scope: 'none',
    arrange: async ({ world }) => ({ target: world.accounts.guest.user.id }),
    act: ({ client }, { target }) => client.service('user-keys').update(target, { publicKey: publicKey(), baseKeyVersion: 0 })
  }),
  'user-keys.patch own': define({
    scope: 'none',
    arrange: ownKey,
    act: ({ client }, { target }) => client.service('user-keys').patch(target, { passphraseWrap: null }),
    verify: ({ user }, result) => expect(result).toMatchObject({ userId: user?.id, passphraseWrap: null })
  }),
  "user-keys.patch another's": define({
    scope: 'none',
    arrange: async ({ world }) => ({ target: world.accounts.guest.user.id }),
    act: ({ client }, { target }) => client.service('user-keys').patch(target, { passphraseWrap: null })
  }),

  'key-epochs.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => keyEpochsClient(client, target).find(),
    verify: (_cell, result) => expect((result as unknown[]).length).toBeGreaterThanOrEqual(1)
  }),
  'key-epochs.create': define<Awaited<ReturnType<typeof nextEpoch>>>({
    scope: 'collection',
    arrange: nextEpoch,
    act: ({ client }, { target, epoch, keys }) => keyEpochsClient(client, target).create({ epoch, keys }),
    verify: (_cell, result) => expect((result as { keys: unknown[] }).keys).toHaveLength(4)
  }),
  'keys.find': define({
    scope: 'collection',
    arrange: shared,
    act: ({ client }, { target }) => collectionKeysClient(client, target).find({ query: { epoch: 1 } }),
    // Managers see the four members' keys; the others their own.
    verify: ({ actor }, result) => expect((result as { total: number }).total).toBe(actor === 'owner' || actor === 'admin' ? 4 : 1)
  }),
  "keys.find another's": define({
    scope: 'collection',
    arrange: shared,
    act: ({ client, world }, { target }) => collectionKeysClient(client, target).find({ query: { userId: world.accounts.guest.user.id } })
  }),
  'keys.create': define({
    scope: 'collection',
    arrange: async (cell) => ({ target: cell.world.collectionId, keyVersion: (await ownKey({ ...cell, user: cell.world.accounts.owner.user })).keyVersion }),
    // The owner's key of epoch 1, for their key version now: written, or kept if it is there already.
    act: ({ client, world }, { target, keyVersion }) =>
      collectionKeysClient(client, target).create({ epoch: 1, keys: [{ userId: world.accounts.owner.user.id, keyVersion, wrappedKey: wrappedKey() }] })
  })
}

// Every row has its case and every case its row.
{
  const rowCalls = ROWS.map((row) => row.call)
  const missing = rowCalls.filter((call) => !(call in CASES))
  const extra = Object.keys(CASES).filter((call) => !rowCalls.includes(call))
  if (missing.length > 0 || extra.length > 0 || new Set(rowCalls).size !== rowCalls.length) {
    throw new Error(`Matrix and cases disagree: no case for [${missing.join(', ')}], no row for [${extra.join(', ')}] (or a duplicate row)`)
  }
}

// ---------------------------------------------------------------------------
// Running a cell.

interface FeathersError {
  code: number
  name: string
  message: string
  data?: unknown
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: FeathersError }

async function settle(promise: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, result: await promise }
  } catch (error) {
    return { ok: false, error: error as FeathersError }
  }
}

const NOT_FOUND: Record<Case<Arranged>['scope'], RegExp> = {
  collection: /^Collection ".+" not found$/,
  invitation: /^Invitation ".+" not found$/,
  none: /./
}

/** A 404 as the caller sees it, with the probed id taken out of the message. */
const shape = (error: FeathersError, id: string) => ({
  code: error.code,
  name: error.name,
  message: error.message.replaceAll(id, '<id>'),
  data: error.data ?? null
})

describeBackends('access matrix', (backend) => {
  let world: World
  const connections: Record<Transport, Record<Actor, Connection>> = { rest: {}, socketio: {} } as Record<Transport, Record<Actor, Connection>>
  const opened: Connection[] = []
  const open = (transport: Transport) => {
    const connection = openConnection(world.server.url, transport)
    opened.push(connection)
    return connection
  }

  beforeAll(async () => {
    // The owner is the server's one operator (the `operators` setting names addresses before they sign up).
    const ownerEmail = newEmail()
    const server = await startServer(backend, { operators: [ownerEmail] })
    world = { server } as World
    const arranger = open('rest')
    const accounts = {} as World['accounts']
    for (const name of ['stranger', 'reader', 'writer', 'admin', 'owner', 'guest', 'invitee'] as const) {
      const email = name === 'owner' ? ownerEmail : newEmail()
      const password = `pw-${randomBytes(8).toString('hex')}`
      const user = await arranger.client.service('users').create({ email, password })
      accounts[name] = { user, email, password }
    }
    const { email, password } = accounts.owner
    await arranger.client.authenticate({ strategy: 'local', email, password })
    const collectionId = `matrix-${randomBytes(6).toString('hex')}`
    await arranger.client.service('collections').create({ id: collectionId, name: 'shared' })
    for (const role of ['reader', 'writer', 'admin'] as const) {
      await membersClient(arranger.client, collectionId).create({ userId: accounts[role].user.id, role })
    }
    await recordsClient(arranger.client, collectionId).create({ id: 'seed', data: { seeded: true } })
    // Public keys for everyone but the guest and the invitee, and the shared collection encrypted (epoch 1).
    for (const name of ['stranger', 'reader', 'writer', 'admin', 'owner'] as const) {
      await server.storage.putUserKey({ userId: accounts[name].user.id, publicKey: publicKey(), baseKeyVersion: 0, passphraseWrap: null, at: now() })
    }
    await server.storage.createKeyEpoch({
      collectionId,
      epoch: 1,
      keys: keysFor((['reader', 'writer', 'admin', 'owner'] as const).map((name) => ({ userId: accounts[name].user.id, keyVersion: 1 }))),
      actorId: accounts.owner.user.id,
      at: now()
    })
    world = { server, collectionId, accounts, arranger: arranger.client }

    for (const transport of TRANSPORTS) {
      for (const actor of ACTORS) {
        const connection = open(transport)
        if (actor !== 'anonymous') {
          const account = accounts[actor]
          await connection.client.authenticate({ strategy: 'local', email: account.email, password: account.password })
        }
        connections[transport][actor] = connection
      }
    }
  })

  afterAll(async () => {
    for (const connection of opened.splice(0)) connection.close()
    await world?.server?.close()
  })

  const cellOf = (transport: Transport, actor: Actor): Cell => ({
    world,
    transport,
    actor,
    client: connections[transport][actor].client,
    user: actor === 'anonymous' ? undefined : world.accounts[actor].user,
    statuses: connections[transport][actor].statuses
  })

  for (const transport of TRANSPORTS) {
    for (const row of ROWS) {
      const definition = CASES[row.call]

      const onlyOver = definition.socketOnly !== undefined ? 'socketio' : definition.restOnly !== undefined ? 'rest' : transport
      if (onlyOver !== transport) {
        it(`[${backend.name}] ${transport}: ${row.call} — not run over ${transport}: ${definition.socketOnly ?? definition.restOnly}`, async () => {
          // Not a skip in disguise: the reason holds (the owner, who may do anything, gets 400 here).
          const arranged = await definition.arrange!(cellOf(transport, 'owner'))
          const outcome = await settle(definition.act(cellOf(transport, 'owner'), arranged))
          expect(outcome.ok ? 'succeeded' : outcome.error.code).toBe(400)
        })
        continue
      }

      for (const actor of ACTORS) {
        const expected = row.expected[actor]
        it(`[${backend.name}] ${transport}: ${actor} ${row.call} → ${expected}`, async () => {
          const cell = cellOf(transport, actor)
          const { statuses } = connections[transport][actor]
          const arranged = definition.arrange ? await definition.arrange(cell) : { target: world.collectionId }
          let outcome: Outcome | undefined
          try {
            statuses.length = 0
            outcome = await settle(definition.act(cell, arranged))
            const httpStatus = transport === 'rest' ? statuses.at(-1) : undefined
            const seen = outcome.ok
              ? `succeeded${httpStatus === undefined ? '' : ` (${httpStatus})`}`
              : `${outcome.error.code} ${outcome.error.name}: ${outcome.error.message}`

            if (expected < 300) {
              expect(outcome.ok, `expected success, got ${seen}`).toBe(true)
              if (transport === 'rest') expect(httpStatus, `HTTP status (${seen})`).toBe(expected)
              definition.verify?.(cell, (outcome as { result: unknown }).result)
            } else {
              expect(outcome.ok ? 'succeeded' : outcome.error.code, `expected ${expected}, got ${seen}`).toBe(expected)
              const { error } = outcome as { error: FeathersError }
              if (transport === 'rest') expect(httpStatus, `HTTP status (${seen})`).toBe(expected)
              expect(error.name, seen).toBe(ERROR_NAMES[expected])
              // The 404 comes from the access check, not from some item further in being missing.
              if (expected === 404) expect(error.message, seen).toMatch(NOT_FOUND[definition.scope])
            }
          } finally {
            await definition.cleanup?.(cell, arranged, outcome?.ok ? outcome.result : undefined)
          }
        })
      }

      // No existence probing: for a stranger, one that does not exist answers exactly like one that does.
      if (row.expected.stranger === 404 && definition.noProbe === undefined) {
        const what = definition.scope === 'invitation' ? 'an invitation' : 'a collection'
        it(`[${backend.name}] ${transport}: stranger ${row.call} on ${what} that does not exist → 404, the same as on one that does`, async () => {
          const cell = cellOf(transport, 'stranger')
          const arranged = definition.arrange ? await definition.arrange(cell) : { target: world.collectionId }
          const missing = definition.scope === 'invitation' ? randomUUID() : `missing-${randomBytes(6).toString('hex')}`
          try {
            const existing = await settle(definition.act(cell, arranged))
            const absent = await settle(definition.act(cell, { ...arranged, target: missing }))
            if (existing.ok || absent.ok) throw new Error(`expected two 404s, but ${existing.ok ? 'the existing one' : 'the missing one'} succeeded`)
            expect(existing.error.code).toBe(404)
            expect(shape(absent.error, missing)).toEqual(shape(existing.error, arranged.target))
          } finally {
            await definition.cleanup?.(cell, arranged, undefined)
          }
        })
      }
    }
  }
})
