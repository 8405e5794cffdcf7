/**
 * TEMPORARY (until branch dash-client is merged): the client library's
 * additions of the contract (DASH_API.md B.2–B.6), typed here so the views
 * compile before they land. After the merge these are plain calls on
 * `Collection` and `Roost`; the helpers below then only forward.
 */
import type { Collection, RecordView, Roost } from '../../client/index.js'

export interface PageOptions {
  offset: number
  limit: number
  idPrefix?: string
  includeDeleted?: boolean
}

export type SizedView<T> = RecordView<T> & { size: number }

export interface PageResult<T> {
  records: SizedView<T>[]
  matching: number
  total: number
}

export interface ServerChange {
  collectionId: string
  id: string
  version: number
  deleted: boolean
  seq: number
  updatedAt: string
  updatedBy: string | null
}

export interface CollectionEvent {
  type: 'lock' | 'member' | 'removed' | 'keys'
  collectionId: string
}

interface PagedCollection<T> {
  page(options: PageOptions): Promise<PageResult<T>>
}

interface RoostAdditions {
  onServerChange(listener: (change: ServerChange) => void): () => void
  onCollectionEvent(listener: (event: CollectionEvent) => void): () => void
}

export const pageOf = <T>(collection: Collection<T>, options: PageOptions): Promise<PageResult<T>> =>
  (collection as unknown as PagedCollection<T>).page(options)

export const onServerChange = (roost: Roost, listener: (change: ServerChange) => void): (() => void) =>
  (roost as unknown as RoostAdditions).onServerChange(listener)

export const onCollectionEvent = (roost: Roost, listener: (event: CollectionEvent) => void): (() => void) =>
  (roost as unknown as RoostAdditions).onCollectionEvent(listener)
