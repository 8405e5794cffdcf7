import { nestedService, type ClientApplication } from '../../client.js'
import type { CollectionBatch } from './collection-batches.schema.js'

export type { CollectionBatch }

export const collectionBatchPath = 'collections/:collectionId/batches'
export const collectionBatchMethods = ['find'] as const

export const collectionBatchesPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/batches`

/** Most batches one listing returns. */
export const COLLECTION_BATCHES_LIMIT = 100

/** The open batches of one collection, on a client. */
export interface CollectionBatchClientService {
  /**
   * Open, unexpired batches with at least one operation staged on the
   * collection, oldest first, at most 100 (a plain array): every user's for
   * owners and admins, the caller's own for other members.
   */
  find(): Promise<CollectionBatch[]>
}

export const collectionBatchesClient = (client: ClientApplication, collectionId: string): CollectionBatchClientService =>
  nestedService<CollectionBatchClientService>(client, collectionBatchesPath(collectionId), collectionBatchMethods)
