import type { Paginated } from '@feathersjs/feathers'
import { nestedService, type ClientApplication } from '../../client.js'
import type { RecordCreate, RecordItem, RecordPatch, RecordQuery, RecordUpdate, RecordWriteQuery } from './records.schema.js'

export type { RecordCreate, RecordItem, RecordPatch, RecordQuery, RecordUpdate, RecordWriteQuery }

/** Registered once with a route parameter; clients use `recordsPath(collectionId)`. */
export const recordPath = 'collections/:collectionId/records'
export const recordMethods = ['find', 'get', 'create', 'update', 'patch', 'remove'] as const

export const recordsPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/records`

/** The records service of one collection, typed, on a client. */
/** A write under an exclusive lock names its fencing token (works over REST and socket.io). */
export interface LockTokenQuery {
  $lockToken?: number
}

type WriteParams = { query?: RecordWriteQuery & LockTokenQuery; headers?: Record<string, string> }

export interface RecordClientService {
  find(params?: { query?: RecordQuery }): Promise<Paginated<RecordItem>>
  get(id: string): Promise<RecordItem>
  create(data: RecordCreate, params?: { query?: LockTokenQuery }): Promise<RecordItem>
  create(data: RecordCreate[], params?: { query?: LockTokenQuery }): Promise<RecordItem[]>
  update(id: string, data: RecordUpdate, params?: WriteParams): Promise<RecordItem>
  patch(id: string, data: RecordPatch, params?: WriteParams): Promise<RecordItem>
  remove(id: string, params?: WriteParams): Promise<RecordItem>
}

export const recordsClient = (client: ClientApplication, collectionId: string): RecordClientService => {
  return nestedService<RecordClientService>(client, recordsPath(collectionId), recordMethods)
}
