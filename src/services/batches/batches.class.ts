import { randomUUID } from 'node:crypto'
import { BadRequest, NotFound } from '@feathersjs/errors'
import type { Id, Params } from '@feathersjs/feathers'
import { authorizeCollection, requireUser as user } from '../../access.js'
import { nowIso } from '../../clock.js'
import { decodeCursor, encodeCursor } from '../../cursor.js'
import type { Application, AuthenticatedUser } from '../../declarations.js'
import { fromStorageError, PayloadTooLarge, PreconditionRequired } from '../../errors.js'
import { isStorageError } from '../../storage/index.js'
import type { CollectionCondition, JsonValue, StagedOperation, StoredBatch, StoredCollection } from '../../storage/types.js'
import type { Batch, BatchAppend, BatchCommit, BatchOpen, BatchOperation } from './batches.schema.js'
import { jsonBytes } from '../../storage/json-text.js'

/** A batch as clients see it; committed ones carry every operation's outcome. */
export function toPublicBatch(batch: StoredBatch): Batch {
  const base: Batch = {
    id: batch.id,
    status: batch.status,
    operationCount: batch.operationCount,
    bytes: batch.bytes,
    createdAt: batch.createdAt,
    expiresAt: batch.expiresAt,
    committedAt: batch.committedAt
  }
  if (batch.result === null) return base
  const { records, outcomes, positions } = batch.result
  return {
    ...base,
    operationCount: records.length,
    results: records.map((record, index) => ({
      collectionId: record.collectionId,
      id: record.id,
      outcome: outcomes[index],
      version: record.version,
      seq: record.seq
    })),
    cursors: Object.fromEntries(Object.entries(positions).map(([collectionId, position]) => [collectionId, encodeCursor(position, position.seq)]))
  }
}

/**
 * Atomic group uploads. Open a batch, append operations over as many requests
 * as it takes (re-sending one replaces it), then commit: every operation
 * applies in one transaction, or none does and the 409 lists every conflict.
 * Nothing staged is visible to anyone before the commit.
 */
export class BatchService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  private get limits() {
    const { maxOperations, maxBytes, maxOpenPerUser, maxStagedBytesPerUser } = this.app.get('batches')
    return { maxOperations, maxBytes, maxOpenPerUser, maxStagedBytesPerUser }
  }

  async get(id: Id, params: Params): Promise<Batch> {
    const batch = await this.storage.getBatch(String(id), nowIso(this.app))
    if (batch === undefined || batch.userId !== user(params).id) throw new NotFound(`Batch "${id}" not found`)
    return toPublicBatch(batch)
  }

  /** Opens a batch; opening the caller's existing id again returns it as it is. */
  async create(data: BatchOpen, params: Params): Promise<Batch> {
    const { ttlSeconds, maxTtlSeconds } = this.app.get('batches')
    const ttl = data.ttl ?? ttlSeconds
    if (ttl > maxTtlSeconds) throw new BadRequest(`"data.ttl" is ${ttl} seconds; the limit is ${maxTtlSeconds} (batches.maxTtlSeconds)`)
    const { maxOperations, maxBytes } = this.limits
    if ((data.expectedOperations ?? 0) > maxOperations) {
      throw new PayloadTooLarge(`A batch holds at most ${maxOperations} operations (batches.maxOperations)`)
    }
    if ((data.expectedBytes ?? 0) > maxBytes) throw new PayloadTooLarge(`A batch holds at most ${maxBytes} bytes (batches.maxBytes)`)
    const now = this.app.get('clock')() // once, so that expiresAt - createdAt is exactly the ttl
    const { batch } = await this.storage
      .openBatch(
        {
          id: data.id ?? randomUUID(),
          userId: user(params).id,
          expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
          declaredOperations: data.expectedOperations ?? null,
          declaredBytes: data.expectedBytes ?? null
        },
        this.limits,
        now.toISOString()
      )
      .catch(mapStorageError)
    return toPublicBatch(batch)
  }

  /** Stages operations; each collection must be writable by the caller. */
  async append(data: BatchAppend, params: Params): Promise<Batch> {
    const operations = data.operations.map((operation, index) => toStaged(operation, index, this.app.get('limits').recordBytes))
    await this.authorize(user(params), operations.map((operation) => operation.collectionId))
    const batch = await this.storage
      .stageOperations(data.id, { userId: user(params).id, operations, limits: this.limits, now: nowIso(this.app) })
      .catch(mapStorageError)
    return toPublicBatch(batch)
  }

  /** Applies the batch, all or nothing. Committing a committed batch answers the same again. */
  async commit(data: BatchCommit, params: Params): Promise<Batch> {
    const caller = user(params)
    const existing = await this.storage.getBatch(data.id, nowIso(this.app))
    if (existing === undefined || existing.userId !== caller.id) throw new NotFound(`Batch "${data.id}" not found`)
    const staged = await this.storage.listOperations(data.id)
    // Access is checked again at commit: it may have changed since the appends.
    const collections = await this.authorize(caller, staged.map((operation) => operation.collectionId))
    const conditions: CollectionCondition[] = []
    for (const [collectionId, cursor] of Object.entries(data.since ?? {})) {
      const collection = await authorizeCollection(this.storage, caller, collectionId, 'read')
      conditions.push({ collectionId, seq: decodeCursor(cursor, collection, `data.since.${collectionId}`) })
    }
    const outcome = await this.storage
      .commitBatch(data.id, {
        userId: caller.id,
        conditions,
        context: {
          actor: caller.id,
          at: nowIso(this.app),
          maxDataBytes: this.app.get('limits').recordBytes,
          lockTokens: data.lockTokens,
          // The commit call's own key (idempotent() replays its answer): every record written carries it.
          idempotencyKey: params.idempotencyKey,
          // Checked again inside the transaction: membership may have changed since the appends.
          requireRole: 'writer'
        }
      })
      .catch(mapStorageError)
    // The whole group is announced together, after the commit; a replay was announced the first time.
    if (!outcome.replayed) this.app.service('collections').announceChanges(collections, outcome)
    return toPublicBatch(outcome.batch)
  }

  /** Aborts an open batch (aborting again is harmless); its staged operations are dropped. */
  async remove(id: Id, params: Params): Promise<Batch> {
    const batch = await this.storage.abortBatch(String(id), user(params).id, nowIso(this.app)).catch(mapStorageError)
    return toPublicBatch(batch)
  }

  private async authorize(caller: AuthenticatedUser, collectionIds: string[]): Promise<StoredCollection[]> {
    const collections: StoredCollection[] = []
    for (const collectionId of new Set(collectionIds)) {
      collections.push(await authorizeCollection(this.storage, caller, collectionId, 'write'))
    }
    return collections
  }
}

function toStaged(operation: BatchOperation, index: number, recordBytes: number): StagedOperation {
  const where = `"data.operations.${index}"`
  if (operation.op === 'delete') {
    if (operation.version === undefined) throw new PreconditionRequired(`${where}: a delete must name the version it is based on`)
    if (operation.data !== undefined || operation.ifNotExists) throw new BadRequest(`${where}: a delete takes no data and no ifNotExists`)
    return { op: 'delete', collectionId: operation.collectionId, id: operation.id, baseVersion: operation.version }
  }
  if (!('data' in operation)) throw new BadRequest(`${where} is missing "data"`)
  if (operation.version !== undefined && operation.ifNotExists !== undefined) {
    throw new BadRequest(`${where}: a put names either "version" or "ifNotExists", not both`)
  }
  if (operation.version === undefined && operation.ifNotExists === undefined) {
    throw new PreconditionRequired(`${where}: a put must name either the version it replaces or "ifNotExists": true`)
  }
  const bytes = jsonBytes(operation.data)
  if (bytes > recordBytes) throw new PayloadTooLarge(`${where}: "data" is ${bytes} bytes; the limit is ${recordBytes} bytes (limits.recordBytes)`)
  return {
    op: 'put',
    collectionId: operation.collectionId,
    id: operation.id,
    data: operation.data as JsonValue,
    baseVersion: operation.version ?? null
  }
}

const mapStorageError = (error: unknown): never => {
  throw isStorageError(error) ? fromStorageError(error, false) : error
}

