import type { Knex } from 'knex'
import type { BackendQueries, KeyEpochRow } from '../backend.js'
import type {
  ChangesPage,
  ChangesParams,
  CollectionWithRole,
  FindRecordsParams,
  ListCollectionsParams,
  ListInvitationsParams,
  ListOpenBatchesParams,
  MemberRole,
  OpenBatchSummary,
  Page,
  StagedOperation,
  StoredBatch,
  StoredChange,
  StoredCollection,
  StoredCollectionKey,
  StoredIdempotencyKey,
  StoredInvitation,
  StoredLock,
  StoredMember,
  StoredRecord,
  StoredUser,
  StoredUserKey,
  StorageStats
} from '../types.js'
import { translating } from './driver-errors.js'
import {
  changeFromTuple,
  collectionFromRow,
  collectionKeyFromRow,
  invitationFromRow,
  keyFromRow,
  lockFromRow,
  memberFromRow,
  recordFromRow,
  SORT_COLUMNS,
  userFromRow,
  type ChangeTuple,
  type CollectionKeyRow,
  type CollectionRow,
  type InvitationRow,
  type KeyRow,
  type LockRow,
  type MemberWithEmailRow,
  type RecordRow,
  type UserRow
} from './rows.js'
import type { Sessions } from './sessions.js'
import { SELECT_COLLECTION, SELECT_COLLECTION_ACCESS } from './sql/collections.js'
import { SELECT_MISSING_COLLECTION_KEYS } from './sql/encryption.js'
import { SELECT_LIVE_KEY } from './sql/keys.js'
import { SELECT_OPEN_BATCHES_OF_COLLECTION } from './sql/batches.js'
import { SELECT_LIVE_LEASES } from './sql/locks.js'
import { SELECT_STATS } from './sql/stats.js'
import { SELECT_CHANGES, SELECT_RECORD } from './sql/records.js'
import { SELECT_USER_BY_EMAIL } from './sql/users.js'
import { asSteps, select, selectTuples, type Steps } from './statements.js'
import { batchesTx } from './tx/batches.js'
import { encryptionTx } from './tx/encryption.js'
import { invitationsTx } from './tx/invitations.js'
import { membersTx } from './tx/members.js'
import { usersTx } from './tx/users.js'

/** A row of SELECT_OPEN_BATCHES_OF_COLLECTION. */
interface OpenBatchRow {
  id: string
  user_id: string
  email: string
  operation_count: number | string
  bytes: number | string
  created_at: string
  expires_at: string
}

/**
 * Reads of committed state, each on its own. The ones every request makes
 * are plain SQL (./sql/) run through the sessions; listings with optional
 * filters and sorts build their SQL with knex's builder.
 */
export class KnexQueries implements BackendQueries {
  constructor(
    readonly db: Knex,
    protected readonly sessions: Sessions
  ) {}

  /** Runs read steps and translates what the driver throws. */
  protected async read<T>(steps: Steps<T>): Promise<T> {
    return translating(() => this.sessions.read(steps))
  }

  // Reads that are the same steps as inside a transaction (./tx/).

  async getUser(id: string): Promise<StoredUser | undefined> {
    return this.read(asSteps(usersTx.getUser(id)))
  }

  async getBatch(id: string, now: string): Promise<StoredBatch | undefined> {
    return this.read(asSteps(batchesTx.getBatch(id, now)))
  }

  async listOperations(batchId: string): Promise<StagedOperation[]> {
    return this.read(asSteps(batchesTx.listOperations(batchId)))
  }

  async listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>> {
    return this.read(asSteps(membersTx.memberRoles(collectionId)))
  }

  async getMember(collectionId: string, userId: string): Promise<StoredMember | undefined> {
    return this.read(asSteps(membersTx.getMember(collectionId, userId)))
  }

  async getInvitation(id: string, now: string): Promise<StoredInvitation | undefined> {
    return this.read(asSteps(invitationsTx.getInvitation(id, now)))
  }

  async getUserKey(userId: string): Promise<StoredUserKey | undefined> {
    return this.read(asSteps(encryptionTx.getUserKey(userId)))
  }

  async keyEpochs(collectionId: string): Promise<KeyEpochRow[]> {
    return this.read(asSteps(encryptionTx.keyEpochs(collectionId)))
  }

  // Reads of their own.

  async missingCollectionKeys(collectionId: string): Promise<Array<{ epoch: number; userId: string }>> {
    const rows = await this.read(select<{ epoch: number | string; user_id: string }>(SELECT_MISSING_COLLECTION_KEYS, [collectionId]))
    return rows.map((row) => ({ epoch: Number(row.epoch), userId: row.user_id }))
  }

  async findUserByEmail(email: string): Promise<StoredUser | undefined> {
    const [row] = await this.read(select<UserRow>(SELECT_USER_BY_EMAIL, [email]))
    return row && userFromRow(row)
  }

  async getCollection(id: string): Promise<StoredCollection | undefined> {
    const [row] = await this.read(select<CollectionRow>(SELECT_COLLECTION, [id]))
    return row && collectionFromRow(row)
  }

  async getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined> {
    const [row] = await this.read(select<CollectionRow & { member_role: string | null }>(SELECT_COLLECTION_ACCESS, [userId, collectionId]))
    return row && { collection: collectionFromRow(row), role: (row.member_role ?? undefined) as MemberRole | undefined }
  }

  async getRecord(collectionId: string, id: string): Promise<StoredRecord | undefined> {
    const [row] = await this.read(select<RecordRow>(SELECT_RECORD, [collectionId, id]))
    return row && recordFromRow(row)
  }

  async changesSince(collectionId: string, { since, limit }: ChangesParams): Promise<ChangesPage> {
    // Rows as arrays: for a page of 1000, making an object per row was a third of the read.
    const rows = await this.read(selectTuples<ChangeTuple>(SELECT_CHANGES, [collectionId, since, limit + 1]))
    const changes: StoredChange[] = []
    for (let i = 0; i < rows.length && i < limit; i++) changes.push(changeFromTuple(collectionId, rows[i]))
    return { changes, more: rows.length > limit }
  }

  async getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined> {
    const [row] = await this.read(select<KeyRow>(SELECT_LIVE_KEY, [userId, key, now]))
    if (row === undefined) return undefined
    const { fingerprint, response } = keyFromRow(row)
    return { fingerprint, response }
  }

  async listOpenBatches({ collectionId, userId, now, limit }: ListOpenBatchesParams): Promise<OpenBatchSummary[]> {
    const rows = await this.read(select<OpenBatchRow>(SELECT_OPEN_BATCHES_OF_COLLECTION, [now, userId ?? null, collectionId, limit]))
    return rows.map((row) => ({
      id: row.id,
      userId: row.user_id,
      email: row.email,
      operationCount: Number(row.operation_count),
      bytes: Number(row.bytes),
      createdAt: row.created_at,
      expiresAt: row.expires_at
    }))
  }

  async stats(now: string): Promise<StorageStats> {
    const [row] = await this.read(select<Record<keyof StorageStats | 'open_batches', number | string>>(SELECT_STATS, [now, now]))
    return {
      users: Number(row.users),
      collections: Number(row.collections),
      records: Number(row.records),
      tombstones: Number(row.tombstones),
      bytes: Number(row.bytes),
      openBatches: Number(row.open_batches),
      locks: Number(row.locks)
    }
  }

  async listLocks(collectionId: string, now: string): Promise<StoredLock[]> {
    return (await this.read(select<LockRow>(SELECT_LIVE_LEASES, [collectionId, now]))).map(lockFromRow)
  }

  // Listings, built with knex's builder.

  async listCollections({ memberId, limit, skip }: ListCollectionsParams): Promise<Page<CollectionWithRole>> {
    return translating(async () => {
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

  async findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
    return translating(async () => {
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

  async listMembers(collectionId: string, { limit, skip }: { limit: number; skip: number }): Promise<Page<StoredMember>> {
    return translating(async () => {
      const [{ count }] = await this.db('members').where({ collection_id: collectionId }).count({ count: '*' })
      const rows: MemberWithEmailRow[] =
        limit === 0
          ? []
          : await this.db('members')
              .join('users', 'users.id', 'members.user_id')
              .select('members.*', 'users.email')
              .where('members.collection_id', collectionId)
              .orderBy('members.user_id')
              .limit(limit)
              .offset(skip)
      return { total: Number(count), data: rows.map(memberFromRow) }
    })
  }

  async listCollectionKeys(
    collectionId: string,
    { userId, epoch, limit, skip }: { userId?: string; epoch?: number; limit: number; skip: number }
  ): Promise<Page<StoredCollectionKey>> {
    return translating(async () => {
      const query = this.db<CollectionKeyRow>('collection_keys').where({ collection_id: collectionId })
      if (userId !== undefined) query.andWhere({ user_id: userId })
      if (epoch !== undefined) query.andWhere({ epoch })
      const [{ count }] = await query.clone().count({ count: '*' })
      const rows = limit === 0 ? [] : await query.orderBy([{ column: 'epoch' }, { column: 'user_id' }]).limit(limit).offset(skip)
      return { total: Number(count), data: rows.map(collectionKeyFromRow) }
    })
  }

  async listInvitations({ collectionId, invitee, status, now, limit, skip }: ListInvitationsParams): Promise<Page<StoredInvitation>> {
    return translating(async () => {
      const query = this.db<InvitationRow>('invitations')
        // The collection's current name, which an invitee may not otherwise see before accepting.
        .select('invitations.*', this.db.raw('(SELECT name FROM collections WHERE collections.id = invitations.collection_id) AS collection_name'))
        .where((where) => {
          if (collectionId !== undefined) where.andWhere({ collection_id: collectionId })
          if (invitee !== undefined) {
            where.andWhere((whom) => whom.where({ invitee_user_id: invitee.userId }).orWhere({ invitee_email: invitee.email }))
          }
          if (status === 'pending') where.andWhere({ status: 'pending' }).andWhere('expires_at', '>', now)
          else if (status === 'expired') where.andWhere({ status: 'pending' }).andWhere('expires_at', '<=', now)
          else if (status !== undefined) where.andWhere({ status })
        })
      const [{ count }] = await query.clone().clearSelect().count({ count: '*' })
      const rows =
        limit === 0 ? [] : ((await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]).limit(limit).offset(skip)) as InvitationRow[])
      return { total: Number(count), data: rows.map((row) => invitationFromRow(row, now)) }
    })
  }
}
