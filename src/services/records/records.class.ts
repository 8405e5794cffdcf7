import { randomUUID } from 'node:crypto'
import { NotFound } from '@feathersjs/errors'
import type { Id, NullableId, Paginated, Params } from '@feathersjs/feathers'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { pageOf } from '../../paging.js'
import { fromStorageError } from '../../errors.js'
import { isStorageError } from '../../storage/index.js'
import type { JsonValue, RecordWrite, SortField, StoredCollection, StoredRecord } from '../../storage/types.js'
import type {
  RecordCreate,
  RecordItem,
  RecordPatch,
  RecordPatchItem,
  RecordQuery,
  RecordRemoveManyQuery,
  RecordUpdate
} from './records.schema.js'

export interface RecordParams extends Params<RecordQuery> {
  /** The version a write is based on, resolved by the hooks from the body, `?version=` or If-Match. */
  baseVersion?: number
}

/**
 * Versioned records of one collection (/collections/:collectionId/records).
 * The hooks have authenticated the caller, validated the input, resolved the
 * base version and, for reads, authorized the collection
 * (`params.collection`); writes are authorized by storage in their own
 * transaction (`requireRole`). This class turns each call into storage
 * writes and announces what committed.
 */
export class RecordService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: RecordParams): Promise<Paginated<RecordItem>> {
    const query = params.query ?? {}
    const { limit, skip } = pageOf(this.app, query)
    const ids = query.id === undefined ? undefined : typeof query.id === 'string' ? [query.id] : query.id.$in
    const sort = Object.entries(query.$sort ?? {}) as Array<[SortField, 1 | -1]>
    const page = await this.storage.findRecords(collection(params).id, {
      deleted: query.deleted ?? false,
      ids,
      updatedBy: query.updatedBy,
      sort,
      limit,
      skip,
      // A read replica answers only from a state that includes what the primary had when the request was authorized (read-your-writes).
      horizon: collection(params).seq
    })
    return { total: page.total, limit, skip, data: page.data }
  }

  async get(id: Id, params: RecordParams): Promise<RecordItem> {
    const record = await this.storage.getRecord(collection(params).id, String(id), { horizon: collection(params).seq })
    // A tombstone is "not found" to a plain read; the change feed carries it.
    if (record === undefined || record.deleted) throw new NotFound(`Record "${id}" not found`)
    return record
  }

  async create(data: RecordCreate, params: RecordParams): Promise<RecordItem>
  async create(data: RecordCreate[], params: RecordParams): Promise<RecordItem[]>
  async create(data: RecordCreate | RecordCreate[], params: RecordParams): Promise<RecordItem | RecordItem[]> {
    const collectionId = target(params)
    const items = Array.isArray(data) ? data : [data]
    const writes: RecordWrite[] = items.map((item) => ({
      op: 'create',
      collectionId,
      id: item.id ?? randomUUID(),
      data: item.data as JsonValue,
      baseVersion: item.version
    }))
    const records = await this.commit(writes, params, !Array.isArray(data))
    return Array.isArray(data) ? records : records[0]
  }

  async update(id: Id, data: RecordUpdate, params: RecordParams): Promise<RecordItem> {
    const [record] = await this.commit(
      [{ op: 'update', collectionId: target(params), id: String(id), data: data.data as JsonValue, baseVersion: baseVersion(params) }],
      params,
      true
    )
    return record
  }

  /** With an id: one record. Without (null): an array of `{ id, data, version }`, all or nothing. */
  async patch(id: Id, data: RecordPatch, params: RecordParams): Promise<RecordItem>
  async patch(id: null, data: RecordPatchItem[], params: RecordParams): Promise<RecordItem[]>
  async patch(id: NullableId, data: RecordPatch | RecordPatchItem[], params: RecordParams): Promise<RecordItem | RecordItem[]> {
    const collectionId = target(params)
    if (id === null) {
      const items = data as RecordPatchItem[]
      const writes: RecordWrite[] = items.map((item) => ({
        op: 'patch',
        collectionId,
        id: item.id,
        data: item.data as { [key: string]: JsonValue },
        baseVersion: item.version
      }))
      return this.commit(writes, params, false)
    }
    const patch = data as RecordPatch
    const [record] = await this.commit(
      [{ op: 'patch', collectionId, id: String(id), data: patch.data as { [key: string]: JsonValue }, baseVersion: baseVersion(params) }],
      params,
      true
    )
    return record
  }

  /** Leaves a tombstone, which is returned. Without an id: `?versions[<id>]=<version>…`, all or nothing. */
  async remove(id: Id, params: RecordParams): Promise<RecordItem>
  async remove(id: null, params: RecordParams): Promise<RecordItem[]>
  async remove(id: NullableId, params: RecordParams): Promise<RecordItem | RecordItem[]> {
    const collectionId = target(params)
    if (id === null) {
      const { versions } = params.query as unknown as RecordRemoveManyQuery
      const writes: RecordWrite[] = Object.entries(versions).map(([recordId, version]) => ({
        op: 'delete',
        collectionId,
        id: recordId,
        baseVersion: version
      }))
      return this.commit(writes, params, false)
    }
    const [record] = await this.commit(
      [{ op: 'delete', collectionId, id: String(id), baseVersion: baseVersion(params) }],
      params,
      true
    )
    return record
  }

  private async commit(writes: RecordWrite[], params: RecordParams, single: boolean): Promise<StoredRecord[]> {
    try {
      const result = await this.storage.commitWrites(writes, {
        actor: params.user?.id ?? null,
        at: nowIso(this.app),
        maxDataBytes: this.app.get('limits').recordBytes,
        // Recorded with every version written, so a retry after the key expired still knows its own write.
        idempotencyKey: params.idempotencyKey,
        idempotency: params.idempotency,
        // Checked again inside the transaction: the hooks' check may be a moment old.
        requireRole: 'writer',
        lockTokens: params.lockToken === undefined ? undefined : { [target(params)]: params.lockToken }
      })
      // A replay was announced the first time.
      if (result.replayed) params.idempotentReplay = true
      else this.app.service('collections').announceChanges([{ id: target(params) }], result)
      return result.records
    } catch (error) {
      throw isStorageError(error) ? fromStorageError(error, single) : error
    }
  }
}

/** Reads: the hooks put the authorized collection on params before the method runs. */
const collection = (params: RecordParams): StoredCollection => {
  if (!params.collection) throw new Error('authorizeRouteCollection() must run before a records read')
  return params.collection
}

/** Writes: the route's collection, which storage authorizes inside the write's transaction. */
const target = (params: RecordParams): string => {
  const collectionId = params.route?.collectionId
  if (typeof collectionId !== 'string') throw new Error('routeCollectionOnly() must run before a records write')
  return collectionId
}

const baseVersion = (params: RecordParams): number => {
  if (params.baseVersion === undefined) throw new Error('requireBaseVersion() must run before this write')
  return params.baseVersion
}
