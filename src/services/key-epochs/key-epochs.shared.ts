import { nestedService, type ClientApplication } from '../../client.js'
import type { KeyEpoch, KeyEpochCreate, KeyEpochCreated, KeysEvent } from './key-epochs.schema.js'

export type { KeyEpoch, KeyEpochCreate, KeyEpochCreated, KeysEvent }

export const keyEpochPath = 'collections/:collectionId/key-epochs'
export const keyEpochMethods = ['find', 'create'] as const

export const keyEpochsPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/key-epochs`

/** The key epochs of one collection, on a client. */
export interface KeyEpochClientService {
  /** Every epoch, ascending (a plain array: there are few). */
  find(): Promise<KeyEpoch[]>
  /**
   * Owners and admins start epoch current + 1 with a key for every member
   * that has a public key. 409 `data.reason`: `epoch-taken`,
   * `members-changed` or `stale-key`; nothing is written then.
   */
  create(data: KeyEpochCreate): Promise<KeyEpochCreated>
}

export const keyEpochsClient = (client: ClientApplication, collectionId: string): KeyEpochClientService =>
  nestedService<KeyEpochClientService>(client, keyEpochsPath(collectionId), keyEpochMethods)
