import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import knex, { type Knex } from 'knex'
import { migrationSource } from '../../../migrations/index.js'
import { StorageError, type RecordConflict } from '../errors.js'
import { planWrite } from '../plan-write.js'
import type {
  ChangesPage,
  ChangesParams,
  CommitResult,
  FindRecordsParams,
  ListCollectionsParams,
  NewCollection,
  NewUser,
  Page,
  RecordWrite,
  Storage,
  StoredCollection,
  StoredRecord,
  StoredUser,
  WriteContext
} from '../types.js'
import { knexConfig, type KnexDialect } from './connection.js'
import { isRetryable, translateDriverError } from './driver-errors.js'
import {
  collectionFromRow,
  recordFromRow,
  recordToRow,
  SORT_COLUMNS,
  userFromRow,
  type CollectionRow,
  type RecordRow,
  type UserRow
} from './rows.js'

const MAX_TRANSACTION_ATTEMPTS = 5
// Keeps every statement under SQLite's bound-parameter limit.
const CHUNK = 200

const chunks = <T>(items: T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** SQLite and PostgreSQL through knex. Dialect differences stay in connection.ts and driver-errors.ts. */
export class KnexStorage implements Storage {
  readonly backend: KnexDialect
  readonly db: Knex

  constructor(url: string, dataDir: string) {
    const { dialect, config } = knexConfig(url, dataDir)
    this.backend = dialect
    this.db = knex(config)
  }

  async migrate(): Promise<void> {
    await this.run(() => this.db.migrate.latest({ migrationSource }))
  }

  async close(): Promise<void> {
    await this.db.destroy()
  }

  // Users

  async createUser(user: NewUser, at: string): Promise<StoredUser> {
    const row: UserRow = { id: randomUUID(), email: user.email, password: user.password, created_at: at }
    await this.run(() => this.db<UserRow>('users').insert(row))
    return userFromRow(row)
  }

  async getUser(id: string): Promise<StoredUser | undefined> {
    const row = await this.run(() => this.db<UserRow>('users').where({ id }).first())
    return row && userFromRow(row)
  }

  async findUserByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.run(() => this.db<UserRow>('users').where({ email }).first())
    return row && userFromRow(row)
  }

  // Collections

  async createCollection(collection: NewCollection, at: string): Promise<StoredCollection> {
    const row: CollectionRow = {
      id: collection.id,
      name: collection.name,
      owner_id: collection.ownerId,
      epoch: randomBytes(6).toString('base64url'),
      seq: 0,
      created_at: at,
      updated_at: at
    }
    await this.run(() => this.db<CollectionRow>('collections').insert(row))
    return collectionFromRow(row)
  }

  async getCollection(id: string): Promise<StoredCollection | undefined> {
    const row = await this.run(() => this.db<CollectionRow>('collections').where({ id }).first())
    return row && collectionFromRow(row)
  }

  async listCollections({ ownerId, limit, skip }: ListCollectionsParams): Promise<Page<StoredCollection>> {
    return this.run(async () => {
      const query = this.db<CollectionRow>('collections').where({ owner_id: ownerId })
      const [{ count }] = await query.clone().count({ count: '*' })
      const rows = limit === 0 ? [] : await query.orderBy('id').limit(limit).offset(skip)
      return { total: Number(count), data: rows.map(collectionFromRow) }
    })
  }

  async renameCollection(id: string, name: string | null, at: string): Promise<StoredCollection> {
    const rows = await this.run(() =>
      this.db<CollectionRow>('collections').where({ id }).update({ name, updated_at: at }).returning('*')
    )
    if (rows.length === 0) throw new StorageError('not-found', `Collection ${id} does not exist`)
    return collectionFromRow(rows[0] as CollectionRow)
  }

  async deleteCollection(id: string): Promise<StoredCollection> {
    return this.transaction(async (trx) => {
      // Read first: with SQLite, knex ignores `returning` on delete (it returns a count).
      const row = await trx<CollectionRow>('collections').where({ id }).first()
      const deleted = row === undefined ? 0 : await trx<CollectionRow>('collections').where({ id }).del()
      if (row === undefined || deleted === 0) throw new StorageError('not-found', `Collection ${id} does not exist`)
      // Explicit rather than relying on ON DELETE CASCADE being enabled.
      await trx('records').where({ collection_id: id }).del()
      return collectionFromRow(row)
    })
  }

  // Records

  async getRecord(collectionId: string, id: string): Promise<StoredRecord | undefined> {
    const row = await this.run(() => this.db<RecordRow>('records').where({ collection_id: collectionId, id }).first())
    return row && recordFromRow(row)
  }

  async findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
    return this.run(async () => {
      const query = this.db<RecordRow>('records').where({ collection_id: collectionId, deleted: params.deleted })
      if (params.ids !== undefined) query.whereIn('id', params.ids)
      if (params.updatedBy !== undefined) query.where({ updated_by: params.updatedBy })
      const [{ count }] = await query.clone().count({ count: '*' })
      for (const [field, direction] of params.sort) {
        // null (updatedBy) sorts before every value, as on SQLite; PostgreSQL's
        // default is the opposite. (Not knex's `nulls` option: on SQLite it
        // drops the column from the ORDER BY.)
        if (field === 'updatedBy') query.orderByRaw(`(?? is null) ${direction === 1 ? 'desc' : 'asc'}`, [SORT_COLUMNS[field]])
        query.orderBy(SORT_COLUMNS[field], direction === 1 ? 'asc' : 'desc')
      }
      // A total order, so that $skip pages neither repeat nor drop records.
      if (!params.sort.some(([field]) => field === 'id' || field === 'seq')) query.orderBy('id', 'asc')
      const rows = params.limit === 0 ? [] : await query.limit(params.limit).offset(params.skip)
      return { total: Number(count), data: rows.map(recordFromRow) }
    })
  }

  async commitWrites(writes: RecordWrite[], context: WriteContext): Promise<CommitResult> {
    assertDistinct(writes)
    return this.transaction(async (trx) => {
      const byCollection = new Map<string, RecordWrite[]>()
      for (const write of writes) {
        byCollection.set(write.collectionId, [...(byCollection.get(write.collectionId) ?? []), write])
      }

      // 1. Reserve positions: bumping the counter row first locks it (on
      //    PostgreSQL) until commit, so writers of one collection commit in
      //    position order. Sorted ids make multi-collection commits deadlock-free.
      const positions: CommitResult['positions'] = {}
      const nextSeq = new Map<string, number>()
      for (const collectionId of [...byCollection.keys()].sort()) {
        const count = byCollection.get(collectionId)!.length
        const [row] = await trx<CollectionRow>('collections')
          .where({ id: collectionId })
          .increment('seq', count)
          .returning(['seq', 'epoch'])
        if (row === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
        const last = Number(row.seq)
        positions[collectionId] = { seq: last, epoch: row.epoch }
        nextSeq.set(collectionId, last - count + 1)
      }

      // 2. Read the current rows, now that no other writer can change them.
      const current = new Map<string, StoredRecord>()
      for (const [collectionId, group] of byCollection) {
        for (const ids of chunks(group.map((write) => write.id))) {
          const rows = await trx<RecordRow>('records').where({ collection_id: collectionId }).whereIn('id', ids)
          for (const row of rows) current.set(key(collectionId, row.id), recordFromRow(row))
        }
      }

      // 3. Check every write; report all conflicts, apply nothing.
      const conflicts: RecordConflict[] = []
      const records: StoredRecord[] = []
      for (const write of writes) {
        const plan = planWrite(current.get(key(write.collectionId, write.id)), write, context)
        if (!plan.ok) conflicts.push(plan.conflict)
        else {
          const seq = nextSeq.get(write.collectionId)!
          nextSeq.set(write.collectionId, seq + 1)
          records.push({ ...plan.next, seq })
        }
      }
      if (conflicts.length > 0) {
        throw new StorageError('conflict', `${conflicts.length} of ${writes.length} writes conflict`, { conflicts })
      }

      // 4. Write. Updates are still compare-and-set on the version, so a
      //    broken lock could never turn into a lost update.
      const inserts: RecordRow[] = []
      for (const record of records) {
        const before = current.get(key(record.collectionId, record.id))
        if (before === undefined) {
          inserts.push(recordToRow(record))
          continue
        }
        const { collection_id, id, ...changes } = recordToRow(record)
        const updated = await trx<RecordRow>('records')
          .where({ collection_id, id, version: before.version })
          .update(changes)
        if (updated !== 1) {
          throw new StorageError('conflict', 'The record changed during the write', {
            conflicts: [{ collectionId: collection_id, id, reason: 'version-mismatch', current: before }]
          })
        }
      }
      for (const rows of chunks(inserts)) await trx('records').insert(rows)
      return { records, positions }
    })
  }

  async changesSince(collectionId: string, { since, limit }: ChangesParams): Promise<ChangesPage> {
    const rows = await this.run(() =>
      this.db<RecordRow>('records')
        .where({ collection_id: collectionId })
        .andWhere('seq', '>', since)
        .orderBy('seq', 'asc')
        .limit(limit + 1)
    )
    return { changes: rows.slice(0, limit).map(recordFromRow), more: rows.length > limit }
  }

  // Plumbing

  /** Runs one statement (or a few) and translates whatever the driver throws. */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw translateDriverError(error)
    }
  }

  /** The one transaction entry point: retries serialisation failures a few times. */
  private async transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction(work)
      } catch (error) {
        if (isRetryable(error) && attempt < MAX_TRANSACTION_ATTEMPTS) {
          await sleep(Math.random() * 10 * attempt)
          continue
        }
        throw translateDriverError(error)
      }
    }
  }
}

const key = (collectionId: string, id: string): string => `${collectionId}\u0000${id}`

function assertDistinct(writes: RecordWrite[]): void {
  const seen = new Set<string>()
  for (const write of writes) {
    const k = key(write.collectionId, write.id)
    if (seen.has(k)) throw new StorageError('invalid', `Record ${write.id} is written more than once in one commit`)
    seen.add(k)
  }
}
