/**
 * TEMPORARY (coordinator replaces at merge): the contract's `roost.server`
 * (DASH_API.md B.1), declared here until the client library's own lands.
 * Views call `serverApi()`; after the merge it returns `roost.server` typed
 * by the client library, and the local declarations below go away.
 */
import type { Collection } from '../../services/collections/collections.shared.js'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import type { Member, Role } from '../../services/members/members.shared.js'
import type { Lock, ServerRecord } from '../../client/index.js'
import { fallbackServerApi } from './server-fallback.js'
import { accessToken, session } from './session.js'

export interface CollectionBatch {
  id: string
  userId: string
  email?: string
  operationCount: number
  bytes: number
  createdAt: string
  expiresAt: string
}

export interface ServerStats {
  status: 'ok'
  version: string
  startedAt: string
  uptimeSeconds: number
  database: { backend: 'sqlite' | 'postgresql' | 'mongodb' }
  counts: { users: number; collections: number; records: number; tombstones: number; bytes: number; openBatches: number; locks: number }
  realtime: { connections: number; authenticated: number }
}

export interface ServerApi {
  collections(): Promise<Collection[]>
  collection(id: string): Promise<Collection & { encrypted: boolean }>
  createCollection(data: { id?: string; name?: string | null; encrypted?: boolean }): Promise<Collection>
  renameCollection(id: string, name: string | null): Promise<Collection>
  deleteCollection(id: string): Promise<void>
  members(collectionId: string): Promise<Member[]>
  setRole(collectionId: string, userId: string, role: Role): Promise<Member>
  removeMember(collectionId: string, userId: string): Promise<void>
  leave(collectionId: string): Promise<void>
  invitations(): Promise<Invitation[]>
  sentInvitations(collectionId: string): Promise<Invitation[]>
  invite(collectionId: string, email: string, role: Role): Promise<Invitation>
  acceptInvitation(id: string): Promise<Invitation>
  declineInvitation(id: string): Promise<Invitation>
  revokeInvitation(id: string): Promise<Invitation>
  locks(collectionId: string): Promise<Lock[]>
  breakLock(collectionId: string, holder: string): Promise<void>
  openBatches(collectionId: string): Promise<CollectionBatch[]>
  records(collectionId: string, options: { offset: number; limit: number; deleted?: boolean }): Promise<{ total: number; records: ServerRecord[] }>
  stats(): Promise<ServerStats>
  exportData(collectionId?: string): Promise<{ filename: string; body: ReadableStream<Uint8Array> }>
}

let fallback: { roost: unknown; api: ServerApi } | null = null

export function serverApi(): ServerApi {
  const current = session.value
  if (!current) throw new Error('Not signed in')
  const own = (current.roost as unknown as { server?: ServerApi }).server
  if (own) return own
  // TEMPORARY: until the client library's roost.server lands (see server-fallback.ts).
  if (fallback?.roost !== current.roost) fallback = { roost: current.roost, api: fallbackServerApi(accessToken) }
  return fallback.api
}
