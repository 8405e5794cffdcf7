import { nestedService, type ClientApplication } from '../../client.js'
import type { ChangesPageResult, ChangesQuery } from './changes.schema.js'

export type { ChangesPageResult, ChangesQuery }

export const changePath = 'collections/:collectionId/changes'
export const changeMethods = ['find'] as const

export const changesPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/changes`

export interface ChangeClientService {
  find(params?: { query?: ChangesQuery }): Promise<ChangesPageResult>
}

export const changesClient = (client: ClientApplication, collectionId: string): ChangeClientService => {
  return nestedService<ChangeClientService>(client, changesPath(collectionId), changeMethods)
}
