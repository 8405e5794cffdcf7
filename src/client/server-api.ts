import type { Collection } from '../services/collections/collections.shared.js'
import type { Invitation } from '../services/invitations/invitations.shared.js'
import type { KeyEpoch } from '../services/key-epochs/key-epochs.shared.js'
import type { Lock } from '../services/locks/locks.shared.js'
import type { Member, Role } from '../services/members/members.shared.js'
import type { KeyRing } from './e2e/keyring.js'
import type { SharingApi } from './e2e/sharing.js'
import { ClientInputError, RoostError, toRoostError } from './errors.js'
import { assertId } from './ids.js'
import type { CollectionBatch, ExportDownload, ServerStats } from './server-types.js'
import type { RestRequest, RestTransport } from './transport/rest.js'
import type { ServerRecord } from './types.js'

/**
 * Online calls to the server, for apps that manage collections, members,
 * invitations and locks (a dashboard): `roost.server`. Each call goes
 * through the client's own REST transport and session (signing in again
 * after a 401 when it can) and fails with a RoostError (`code`, `name`,
 * `message`, `data`); nothing here is queued offline.
 */
export interface ServerApi {
  /** Every collection you are a member of (all pages), with your `role`. */
  collections(): Promise<Collection[]>
  /** One collection; `encrypted`: it has key epochs (end-to-end encrypted). */
  collection(id: string): Promise<Collection & { encrypted: boolean }>
  /** Creates a collection; `encrypted: true` also starts its first key epoch (needs the account's keys on this device). */
  createCollection(data: { id?: string; name?: string | null; encrypted?: boolean }): Promise<Collection>
  renameCollection(id: string, name: string | null): Promise<Collection>
  /** Deletes it on the server (owners), then forgets the local copy (`roost.forget`, discarding its unsent writes). */
  deleteCollection(id: string): Promise<void>
  members(collectionId: string): Promise<Member[]>
  setRole(collectionId: string, userId: string, role: Role): Promise<Member>
  /** Removes a member; in an encrypted collection through `roost.sharing.removeMember`, which rotates the key. */
  removeMember(collectionId: string, userId: string): Promise<void>
  /** Leaves the collection, then forgets the local copy (as deleteCollection does). */
  leave(collectionId: string): Promise<void>
  /** Pending invitations addressed to you. */
  invitations(): Promise<Invitation[]>
  /** Pending invitations of a collection (owners and admins). */
  sentInvitations(collectionId: string): Promise<Invitation[]>
  /** Invites by e-mail, through `roost.sharing.invite` (an encrypted collection's keys follow once they accept). */
  invite(collectionId: string, email: string, role: Role): Promise<Invitation>
  acceptInvitation(id: string): Promise<Invitation>
  declineInvitation(id: string): Promise<Invitation>
  revokeInvitation(id: string): Promise<Invitation>
  /** Every current lock of the collection, whoever holds it. */
  locks(collectionId: string): Promise<Lock[]>
  /** Breaks another holder's lock (owners): its later writes with the old token are refused. */
  breakLock(collectionId: string, holder: string): Promise<void>
  /** Open batches with staged operations on the collection (owners and admins see all, others their own). */
  openBatches(collectionId: string): Promise<CollectionBatch[]>
  /** A page of the server's records as stored (ciphertext envelopes in an encrypted collection), ordered by id. `deleted: true` lists only tombstones. */
  records(collectionId: string, options: { offset: number; limit: number; deleted?: boolean }): Promise<{ total: number; records: ServerRecord[] }>
  /** The server's counts (operators only: others get a 403 RoostError). */
  stats(): Promise<ServerStats>
  /** The NDJSON export of one collection, or of every collection you are a member of: streamed, never buffered here. */
  exportData(collectionId?: string): Promise<ExportDownload>
}

export interface ServerApiDeps {
  rest: RestTransport
  /** Signs in if need be; the user's id. */
  signedIn(): Promise<string>
  /** After a 401: a new token, or the error again when there is no way to get one. */
  renew(error: RoostError): Promise<void>
  ring: KeyRing
  sharing: SharingApi
  /** Drops the local copy of a collection that is gone for us (unsent writes included). */
  forgetLocal(collectionId: string): Promise<void>
}

const PAGE = 1000
const ROLES = new Set(['owner', 'admin', 'writer', 'reader'])
const collectionPath = (id: string) => `collections/${encodeURIComponent(id)}`

function checkRole(role: unknown): asserts role is Role {
  if (typeof role !== 'string' || !ROLES.has(role)) throw new ClientInputError(`"role" must be 'owner', 'admin', 'writer' or 'reader', not ${JSON.stringify(role)}`)
}

/** Server-made ids (users, invitations) are UUIDs; ours follow the id rule. Anything else is refused before a request. */
function checkUuid(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F-]{1,64}$/.test(value)) throw new ClientInputError(`${what} ${JSON.stringify(value)} is not a valid id`)
}

function checkName(name: unknown): asserts name is string | null {
  if (name !== null && (typeof name !== 'string' || name.length < 1 || name.length > 256)) {
    throw new ClientInputError(`"name" must be null or 1–256 characters, not ${JSON.stringify(name)}`)
  }
}

function checkWindow(options: { offset: number; limit: number; deleted?: boolean }) {
  if (options === null || typeof options !== 'object') throw new ClientInputError('records() takes { offset, limit, deleted? }')
  if (!Number.isSafeInteger(options.offset) || options.offset < 0) throw new ClientInputError(`"offset" must be a whole number from 0, not ${JSON.stringify(options.offset)}`)
  if (!Number.isSafeInteger(options.limit) || options.limit < 0 || options.limit > PAGE) {
    throw new ClientInputError(`"limit" must be a whole number from 0 to ${PAGE}, not ${JSON.stringify(options.limit)}`)
  }
  if (options.deleted !== undefined && typeof options.deleted !== 'boolean') throw new ClientInputError(`"deleted" must be a boolean, not ${JSON.stringify(options.deleted)}`)
}

/** `attachment; filename="roost-notes-20261204.ndjson"` → the file name (null when there is none). */
function filenameOf(disposition: string | null): string | null {
  const match = disposition === null ? null : /filename="([^"]+)"/i.exec(disposition)
  return match ? match[1] : null
}

export class ServerApiClient implements ServerApi {
  constructor(private readonly deps: ServerApiDeps) {}

  /** One call, signed in; a 401 signs in again once (with the password, when the client has one) and repeats it. */
  private async call<T>(request: RestRequest): Promise<T> {
    await this.deps.signedIn()
    try {
      return await this.deps.rest.call<T>(request)
    } catch (caught) {
      const error = toRoostError(caught)
      if (error.code !== 401) throw error
      await this.deps.renew(error)
      return this.deps.rest.call<T>(request)
    }
  }

  /** Every page of a paginated find. */
  private async all<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T[]> {
    const found: T[] = []
    for (;;) {
      const page = await this.call<{ total: number; data: T[] }>({ method: 'GET', path, query: { ...query, $limit: PAGE, $skip: found.length } })
      found.push(...page.data)
      if (page.data.length === 0 || found.length >= page.total) return found
    }
  }

  collections(): Promise<Collection[]> {
    return this.all<Collection>('collections')
  }

  async collection(id: string): Promise<Collection & { encrypted: boolean }> {
    assertId(id, 'The collection id')
    const collection = await this.call<Collection>({ method: 'GET', path: collectionPath(id) })
    const epochs = await this.call<KeyEpoch[]>({ method: 'GET', path: `${collectionPath(id)}/key-epochs` })
    return { ...collection, encrypted: epochs.length > 0 }
  }

  async createCollection(data: { id?: string; name?: string | null; encrypted?: boolean }): Promise<Collection> {
    if (data === null || typeof data !== 'object') throw new ClientInputError('createCollection takes { id?, name?, encrypted? }')
    if (data.id !== undefined) assertId(data.id, 'The collection id')
    if (data.name !== undefined) checkName(data.name)
    if (data.encrypted !== undefined && typeof data.encrypted !== 'boolean') throw new ClientInputError(`"encrypted" must be a boolean, not ${JSON.stringify(data.encrypted)}`)
    await this.deps.signedIn()
    // Without the account's keys the collection could not get its first epoch: fail before creating anything.
    if (data.encrypted) await this.deps.ring.requireAccount()
    const body: { id?: string; name?: string | null } = {}
    if (data.id !== undefined) body.id = data.id
    if (data.name !== undefined) body.name = data.name
    const created = await this.call<Collection>({ method: 'POST', path: 'collections', body })
    if (data.encrypted) {
      // Encrypted on this device from now on (no write to it leaves in the clear), and its first key epoch now.
      await this.deps.ring.optIn(created.id)
      await this.deps.ring.writeKey(created.id)
    }
    return created
  }

  async renameCollection(id: string, name: string | null): Promise<Collection> {
    assertId(id, 'The collection id')
    checkName(name)
    return this.call<Collection>({ method: 'PATCH', path: collectionPath(id), body: { name } })
  }

  async deleteCollection(id: string): Promise<void> {
    assertId(id, 'The collection id')
    await this.call({ method: 'DELETE', path: collectionPath(id) })
    await this.deps.forgetLocal(id)
  }

  async members(collectionId: string): Promise<Member[]> {
    assertId(collectionId, 'The collection id')
    return this.all<Member>(`${collectionPath(collectionId)}/members`)
  }

  async setRole(collectionId: string, userId: string, role: Role): Promise<Member> {
    assertId(collectionId, 'The collection id')
    checkUuid(userId, 'The user id')
    checkRole(role)
    return this.call<Member>({ method: 'PATCH', path: `${collectionPath(collectionId)}/members/${encodeURIComponent(userId)}`, body: { role } })
  }

  async removeMember(collectionId: string, userId: string): Promise<void> {
    assertId(collectionId, 'The collection id')
    checkUuid(userId, 'The user id')
    const me = await this.deps.signedIn()
    if (userId === me) return this.leave(collectionId)
    // Whether it is encrypted is the server's to say (this device may never have synced it): its key epochs.
    await this.withSession(() => this.deps.ring.refresh(collectionId, { force: true }))
    // The rotation after the removal needs the account's keys: without them, refuse before removing anyone.
    if (await this.deps.ring.isEncrypted(collectionId)) await this.deps.ring.requireAccount()
    await this.withSession(() => this.deps.sharing.removeMember(collectionId, userId))
  }

  async leave(collectionId: string): Promise<void> {
    assertId(collectionId, 'The collection id')
    const me = await this.deps.signedIn()
    await this.call({ method: 'DELETE', path: `${collectionPath(collectionId)}/members/${encodeURIComponent(me)}` })
    await this.deps.forgetLocal(collectionId)
  }

  invitations(): Promise<Invitation[]> {
    return this.all<Invitation>('invitations', { status: 'pending' })
  }

  async sentInvitations(collectionId: string): Promise<Invitation[]> {
    assertId(collectionId, 'The collection id')
    return this.all<Invitation>('invitations', { collectionId, status: 'pending' })
  }

  async invite(collectionId: string, email: string, role: Role): Promise<Invitation> {
    assertId(collectionId, 'The collection id')
    if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) throw new ClientInputError(`${JSON.stringify(email)} is not an e-mail address`)
    checkRole(role)
    await this.deps.signedIn()
    return this.withSession(() => this.deps.sharing.invite(collectionId, { email }, role))
  }

  acceptInvitation(id: string): Promise<Invitation> {
    return this.answer(id, 'accepted')
  }

  declineInvitation(id: string): Promise<Invitation> {
    return this.answer(id, 'declined')
  }

  async revokeInvitation(id: string): Promise<Invitation> {
    checkUuid(id, 'The invitation id')
    return this.call<Invitation>({ method: 'DELETE', path: `invitations/${encodeURIComponent(id)}` })
  }

  private async answer(id: string, status: 'accepted' | 'declined'): Promise<Invitation> {
    checkUuid(id, 'The invitation id')
    return this.call<Invitation>({ method: 'PATCH', path: `invitations/${encodeURIComponent(id)}`, body: { status } })
  }

  async locks(collectionId: string): Promise<Lock[]> {
    assertId(collectionId, 'The collection id')
    return this.call<Lock[]>({ method: 'GET', path: `${collectionPath(collectionId)}/locks` })
  }

  async breakLock(collectionId: string, holder: string): Promise<void> {
    assertId(collectionId, 'The collection id')
    assertId(holder, 'The lock holder')
    await this.call({ method: 'DELETE', path: `${collectionPath(collectionId)}/locks/${encodeURIComponent(holder)}`, query: { $break: 'true' } })
  }

  async openBatches(collectionId: string): Promise<CollectionBatch[]> {
    assertId(collectionId, 'The collection id')
    return this.call<CollectionBatch[]>({ method: 'GET', path: `${collectionPath(collectionId)}/batches` })
  }

  async records(collectionId: string, options: { offset: number; limit: number; deleted?: boolean }): Promise<{ total: number; records: ServerRecord[] }> {
    assertId(collectionId, 'The collection id')
    checkWindow(options)
    const page = await this.call<{ total: number; data: ServerRecord[] }>({
      method: 'GET',
      path: `${collectionPath(collectionId)}/records`,
      query: { $skip: options.offset, $limit: options.limit, '$sort[id]': 1, deleted: options.deleted === undefined ? undefined : String(options.deleted) }
    })
    return { total: page.total, records: page.data }
  }

  stats(): Promise<ServerStats> {
    return this.call<ServerStats>({ method: 'GET', path: 'server-stats' })
  }

  async exportData(collectionId?: string): Promise<ExportDownload> {
    if (collectionId !== undefined) assertId(collectionId, 'The collection id')
    const path = collectionId === undefined ? 'export' : `${collectionPath(collectionId)}/export`
    await this.deps.signedIn()
    const response = await this.withSession(() => this.deps.rest.stream({ path, headers: { Accept: 'application/x-ndjson' } }))
    if (!response.body) throw new RoostError(0, 'NetworkError', 'The export came without a body')
    return { filename: filenameOf(response.headers.get('Content-Disposition')) ?? `roost-${collectionId ?? 'all'}.ndjson`, body: response.body }
  }

  /** `fn` again once after a 401 that a new sign-in cured. */
  private async withSession<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (caught) {
      const error = caught instanceof RoostError ? caught : null
      if (error?.code !== 401) throw caught
      await this.deps.renew(error)
      return fn()
    }
  }
}
