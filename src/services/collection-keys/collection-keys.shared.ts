import type { Paginated } from '@feathersjs/feathers'
import { nestedService, type ClientApplication } from '../../client.js'
import type { CollectionKey, CollectionKeyQuery, CollectionKeysAdd, WrappedKey, WrappedKeyInput } from './collection-keys.schema.js'

export type { CollectionKey, CollectionKeyQuery, CollectionKeysAdd, WrappedKey, WrappedKeyInput }

export const collectionKeyPath = 'collections/:collectionId/keys'
export const collectionKeyMethods = ['find', 'create'] as const

export const collectionKeysPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/keys`

/** The wrapped keys of one collection, on a client. */
export interface CollectionKeyClientService {
  /** Ordered by epoch, then user id. Members who do not manage the collection get only their own (another's: 403). */
  find(params?: { query?: CollectionKeyQuery }): Promise<Paginated<CollectionKey>>
  /**
   * Owners and admins add keys to an existing epoch, for members who lack
   * one. Answers the rows written: a key already there for that user's
   * current key version is kept, not written again.
   */
  create(data: CollectionKeysAdd): Promise<CollectionKey[]>
}

export const collectionKeysClient = (client: ClientApplication, collectionId: string): CollectionKeyClientService =>
  nestedService<CollectionKeyClientService>(client, collectionKeysPath(collectionId), collectionKeyMethods)
