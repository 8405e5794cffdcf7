import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import knex, { type Knex } from 'knex'
import { migrationSource } from '../../../migrations/index.js'
import { StorageError } from '../errors.js'
import type {
  AcquireLockParams,
  AcquireLockResult,
  StoredLock,
  BatchLimits,
  ChangesPage,
  ChangesParams,
  CommitBatchParams,
  CommitOutcome,
  FindRecordsParams,
  IdempotencyScope,
  JsonValue,
  NewBatch,
  PurgeResult,
  StagedOperation,
  StageParams,
  StoredBatch,
  StoredIdempotencyKey,
  ListCollectionsParams,
  CollectionWithRole,
  InvitationAnswer,
  ListInvitationsParams,
  MemberChange,
  MemberRemoval,
  MemberRole,
  NewInvitation,
  StoredInvitation,
  StoredMember,
  NewCollection,
  CollectionQuota,
  InvitationQuota,
  NewUser,
  Page,
  RecordWrite,
  Storage,
  StoredCollection,
  StoredRecord,
  StoredUser,
  WriteContext
} from '../types.js'
import { applyWrites, Replay, type IdempotencyRow } from './apply-writes.js'
import * as batches from './batches.js'
import * as locks from './locks.js'
import * as sharing from './sharing.js'
import { knexConfig, type ConnectionOptions, type KnexDialect } from './connection.js'
import { SqliteCheckpointer } from './sqlite-checkpointer.js'
import { createSessions, type Sessions } from './sessions.js'
import { select } from './statements.js'
import { isRetryable, translateDriverError } from './driver-errors.js'
import {
  collectionFromRow,
  recordFromRow,
  SORT_COLUMNS,
  userFromRow,
  type CollectionRow,
  type RecordRow,
  type UserRow
} from './rows.js'

const MAX_TRANSACTION_ATTEMPTS = 5

/**
 * SQLite and PostgreSQL through knex. Dialect differences stay in
 * connection.ts, sessions.ts and driver-errors.ts. The calls every request
 * makes (reading a user, a collection, a record, the feed; versioned writes)
 * run as plain SQL steps through `sessions`; the rest uses knex's builder.
 */
export class KnexStorage implements Storage {
  readonly backend: KnexDialect
  readonly db: Knex
  private readonly sessions: Sessions
  private readonly filename: string | undefined
  private checkpointer: SqliteCheckpointer | undefined

  constructor(url: string, dataDir: string, options: ConnectionOptions = {}) {
    const { dialect, config, filename } = knexConfig(url, dataDir, options)
    this.backend = dialect
    this.db = knex(config)
    this.sessions = createSessions(dialect, this.db)
    this.filename = filename
  }

  async migrate(): Promise<void> {
    await this.run(() => this.db.migrate.latest({ migrationSource }))
    // Started once the file and its log exist.
    if (this.filename !== undefined && this.filename !== ':memory:') this.checkpointer ??= new SqliteCheckpointer(this.filename)
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop()
    await this.db.destroy()
  }

  // Users

  async createUser(user: NewUser, at: string): Promise<StoredUser> {
    const row: UserRow = { id: randomUUID(), email: user.email, password: user.password, created_at: at }
    await this.run(() => this.db<UserRow>('users').insert(row))
    return userFromRow(row)
  }

  async getUser(id: string): Promise<StoredUser | undefined> {
    const [row] = await this.run(() => this.sessions.read(select<UserRow>('SELECT * FROM users WHERE id = ?', [id])))
    return row && userFromRow(row)
  }

  async findUserByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.run(() => this.db<UserRow>('users').where({ email }).first())
    return row && userFromRow(row)
  }

  async setUserPassword(id: string, password: string): Promise<void> {
    const updated = await this.run(() => this.db<UserRow>('users').where({ id }).update({ password }))
    if (updated === 0) throw new StorageError('not-found', `User "${id}" not found`)
  }

  // Collections

  async createCollection(collection: NewCollection, at: string, quota?: CollectionQuota): Promise<StoredCollection> {
    const row: CollectionRow = {
      id: collection.id,
      name: collection.name,
      owner_id: collection.ownerId,
      epoch: randomBytes(6).toString('base64url'),
      seq: 0,
      created_at: at,
      updated_at: at
    }
    await this.transaction(async (trx) => {
      if (quota !== undefined) await sharing.checkOwnedQuota(trx, row.owner_id, quota)
      await trx<CollectionRow>('collections').insert(row)
      await trx<sharing.MemberRow>('members').insert({ collection_id: row.id, user_id: row.owner_id, role: 'owner', created_at: at, updated_at: at })
    })
    return collectionFromRow(row)
  }

  async getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined> {
    const [row] = await this.run(() =>
      this.sessions.read(
        select<CollectionRow & { member_role: string | null }>(
          'SELECT collections.*, members.role AS member_role FROM collections LEFT JOIN members ON members.collection_id = collections.id AND members.user_id = ? WHERE collections.id = ?',
          [userId, collectionId]
        )
      )
    )
    return row && { collection: collectionFromRow(row), role: (row.member_role ?? undefined) as MemberRole | undefined }
  }

  async getCollection(id: string): Promise<StoredCollection | undefined> {
    const [row] = await this.run(() => this.sessions.read(select<CollectionRow>('SELECT * FROM collections WHERE id = ?', [id])))
    return row && collectionFromRow(row)
  }

  async listCollections({ memberId, limit, skip }: ListCollectionsParams): Promise<Page<CollectionWithRole>> {
    return this.run(async () => {
      const [{ count }] = await this.db('members').where({ user_id: memberId }).count({ count: '*' })
      const rows: Array<CollectionRow & { member_role: string }> =
        limit === 0
          ? []
          : await this.db('collections')
              .join('members', 'members.collection_id', 'collections.id')
              .where('members.user_id', memberId)
              .select('collections.*', 'members.role as member_role')
              .orderBy('collections.id')
              .limit(limit)
              .offset(skip)
      return { total: Number(count), data: rows.map((row) => ({ ...collectionFromRow(row), role: row.member_role as MemberRole })) }
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
    const [row] = await this.run(() =>
      this.sessions.read(select<RecordRow>('SELECT * FROM records WHERE collection_id = ? AND id = ?', [collectionId, id]))
    )
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

  async commitWrites(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome> {
    try {
      const short = this.sessions.writeOne === undefined ? undefined : await this.retrying(() => this.sessions.writeOne!(writes, context))
      if (short !== undefined) return short
      return await this.retrying(() => this.sessions.write(applyWrites(writes, context)))
    } catch (error) {
      if (error instanceof Replay) return { ...error.result, replayed: true }
      throw error
    }
  }

  async changesSince(collectionId: string, { since, limit }: ChangesParams): Promise<ChangesPage> {
    const rows = await this.run(() =>
      this.sessions.read(
        select<RecordRow>('SELECT * FROM records WHERE collection_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?', [
          collectionId,
          since,
          limit + 1
        ])
      )
    )
    return { changes: rows.slice(0, limit).map(recordFromRow), more: rows.length > limit }
  }

  // Batches

  async openBatch(batch: NewBatch, limits: BatchLimits, now: string): Promise<{ batch: StoredBatch; created: boolean }> {
    return this.transaction((trx) => batches.openBatch(trx, batch, limits, now))
  }

  async getBatch(id: string, now: string): Promise<StoredBatch | undefined> {
    const row = await this.run(() => this.db<batches.BatchRow>('batches').where({ id }).first())
    return row && batches.batchFromRow(row, now)
  }

  async stageOperations(batchId: string, params: StageParams): Promise<StoredBatch> {
    return this.transaction((trx) => batches.stageOperations(trx, batchId, params))
  }

  async listOperations(batchId: string): Promise<StagedOperation[]> {
    return this.run(() => batches.listOperations(this.db, batchId))
  }

  async commitBatch(batchId: string, params: CommitBatchParams): Promise<CommitOutcome & { batch: StoredBatch }> {
    try {
      return await this.transaction((trx) => batches.commitBatch(trx, batchId, params))
    } catch (error) {
      if (error instanceof Replay) return { ...error.result, replayed: true, batch: error.extra as StoredBatch }
      throw error
    }
  }

  async abortBatch(batchId: string, userId: string, now: string): Promise<StoredBatch> {
    return this.transaction((trx) => batches.abortBatch(trx, batchId, userId, now))
  }

  // Idempotency keys

  async getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined> {
    const [row] = await this.run(() =>
      this.sessions.read(
        select<IdempotencyRow>('SELECT * FROM idempotency_keys WHERE user_id = ? AND "key" = ? AND expires_at > ?', [userId, key, now])
      )
    )
    return row && { fingerprint: row.fingerprint, response: JSON.parse(row.response) as JsonValue }
  }

  async saveIdempotencyKey(scope: IdempotencyScope, response: JsonValue, at: string): Promise<void> {
    await this.transaction(async (trx) => {
      await trx('idempotency_keys').where({ user_id: scope.userId, key: scope.key }).andWhere('expires_at', '<=', at).del()
      await trx<IdempotencyRow>('idempotency_keys')
        .insert({
          user_id: scope.userId,
          key: scope.key,
          fingerprint: scope.fingerprint,
          response: JSON.stringify(response),
          created_at: at,
          expires_at: scope.expiresAt
        })
        .onConflict(['user_id', 'key'])
        .ignore()
    })
  }

  async purgeExpired(now: string, retainUntil: string): Promise<PurgeResult> {
    return this.transaction(async (trx) => {
      const expired = await trx<batches.BatchRow>('batches')
        .where({ status: 'open' })
        .andWhere('expires_at', '<=', now)
        .update({ status: 'expired' })
      // Only open batches keep operations.
      await trx('batch_operations')
        .whereIn('batch_id', trx('batches').select('id').whereNot({ status: 'open' }))
        .del()
      const deletedBatches = await trx('batches').whereNot({ status: 'open' }).andWhere('expires_at', '<=', retainUntil).del()
      const deletedKeys = await trx('idempotency_keys').where('expires_at', '<=', now).del()
      const deletedInvitations = await sharing.purgeInvitations(trx, retainUntil)
      return {
        expiredBatches: Number(expired),
        deletedBatches: Number(deletedBatches),
        deletedKeys: Number(deletedKeys),
        deletedInvitations: Number(deletedInvitations)
      }
    })
  }

  // Locks

  async acquireLock(params: AcquireLockParams): Promise<AcquireLockResult> {
    return this.transaction((trx) => locks.acquireLock(trx, params))
  }

  async renewLock(collectionId: string, userId: string, holder: string, expiresAt: string, now: string): Promise<StoredLock> {
    return this.transaction((trx) => locks.renewLock(trx, collectionId, userId, holder, expiresAt, now))
  }

  async releaseLock(collectionId: string, userId: string, holder: string, now: string): Promise<StoredLock | undefined> {
    return this.transaction((trx) => locks.releaseLock(trx, collectionId, userId, holder, now))
  }

  async listLocks(collectionId: string, now: string): Promise<StoredLock[]> {
    const rows = await this.run(() =>
      this.db<locks.LockRow>('locks').where({ collection_id: collectionId }).andWhere('expires_at', '>', now).orderBy(['acquired_at', 'holder'])
    )
    return rows.map(locks.lockFromRow)
  }

  async expireLocks(now: string): Promise<StoredLock[]> {
    return this.transaction((trx) => locks.deleteExpired(trx, now))
  }

  async releaseLocksOf(collectionId: string, userId: string): Promise<StoredLock[]> {
    return this.transaction((trx) => locks.releaseLocksOf(trx, collectionId, userId))
  }

  // Sharing

  async listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>> {
    return this.run(() => sharing.listMembers(this.db, collectionId, page))
  }

  async listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>> {
    const rows = await this.run(() =>
      this.sessions.read(select<{ user_id: string; role: string }>('SELECT user_id, role FROM members WHERE collection_id = ?', [collectionId]))
    )
    return rows.map((row) => ({ userId: row.user_id, role: row.role as MemberRole }))
  }

  async getMember(collectionId: string, userId: string): Promise<StoredMember | undefined> {
    return this.run(() => sharing.getMember(this.db, collectionId, userId))
  }

  async putMember(member: { collectionId: string; userId: string; role: MemberRole }, at: string, onlyIf?: 'new' | 'existing'): Promise<MemberChange> {
    return this.transaction((trx) => sharing.putMember(trx, member, at, onlyIf))
  }

  async removeMember(collectionId: string, userId: string, at: string): Promise<MemberRemoval> {
    return this.transaction((trx) => sharing.removeMember(trx, collectionId, userId, at))
  }

  async createInvitation(invitation: NewInvitation, at: string, quota?: InvitationQuota): Promise<StoredInvitation> {
    return this.transaction((trx) => sharing.createInvitation(trx, invitation, at, quota))
  }

  async getInvitation(id: string, now: string): Promise<StoredInvitation | undefined> {
    return this.run(() => sharing.getInvitation(this.db, id, now))
  }

  async listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>> {
    return this.run(() => sharing.listInvitations(this.db, params))
  }

  async answerInvitation(id: string, answer: 'accepted' | 'declined', userId: string, at: string): Promise<InvitationAnswer> {
    return this.transaction((trx) => sharing.answerInvitation(trx, id, answer, userId, at))
  }

  async revokeInvitation(id: string, at: string): Promise<StoredInvitation> {
    return this.transaction((trx) => sharing.revokeInvitation(trx, id, at))
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

  /** A knex transaction, retried as `retrying` says. */
  private async transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.retrying(() => this.db.transaction(work))
  }

  /** Runs a transaction, retrying serialisation failures a few times; translates what the driver throws. */
  private async retrying<T>(transaction: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction()
      } catch (error) {
        if (error instanceof Replay) throw error
        if (isRetryable(error) && attempt < MAX_TRANSACTION_ATTEMPTS) {
          await sleep(Math.random() * 10 * attempt)
          continue
        }
        throw translateDriverError(error)
      }
    }
  }
}

