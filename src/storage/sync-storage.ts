import type { Backend } from './backend.js'
import { newFeedEpoch } from './epoch.js'
import { StorageError } from './errors.js'
import { GroupCommit } from './group-commit.js'
import type { CollectionRemoval, PutMemberParams, Storage } from './port.js'
import * as batches from './rules/batches.js'
import * as collections from './rules/collections.js'
import { commitGroup } from './rules/commit-group.js'
import { commitWrites } from './rules/commit-writes.js'
import { claimKey, completeKey, releaseKey } from './rules/idempotency.js'
import * as invitations from './rules/invitations.js'
import * as keys from './rules/keys.js'
import * as locks from './rules/locks.js'
import * as members from './rules/members.js'
import { renewCollections, RENEWAL_PAGE } from './rules/restore.js'
import { Replay } from './rules/replay.js'
import type {
  AcquireLockParams,
  AcquireLockResult,
  BatchLimits,
  BreakLockParams,
  ChangesPage,
  ChangesParams,
  CollectionQuota,
  CollectionWithRole,
  ClaimOutcome,
  CommitBatchParams,
  CommitOutcome,
  FindRecordsParams,
  IdempotencyClaim,
  IdempotencyScope,
  InvitationAnswer,
  InvitationQuota,
  JsonValue,
  ListCollectionsParams,
  ListInvitationsParams,
  ListOpenBatchesParams,
  MemberChange,
  MemberRemoval,
  MemberRole,
  NewBatch,
  NewCollection,
  NewInvitation,
  NewUser,
  OpenBatchSummary,
  Page,
  PoolStats,
  PurgeResult,
  RecordWrite,
  RestoreRenewal,
  StagedOperation,
  StageParams,
  StoredBatch,
  StoredCollection,
  StoredIdempotencyKey,
  StoredInvitation,
  StoredLock,
  StoredMember,
  StoredRecord,
  StoredCollectionKey,
  StoredKeyEpoch,
  StoredUser,
  StoredUserKey,
  StorageStats,
  WrappedKeyInput,
  WriteContext,
  ReplicaReadable,
  ReadReplicaView
} from './types.js'

export interface SyncStorageOptions {
  /**
   * The speed-ups of the rules (rules/shortcuts.ts); the backend's own were
   * chosen when it was made. Both are checked against the plain path by the
   * conformance suite.
   */
  shortcuts: boolean
}

/**
 * The one implementation of the storage port: every mutation runs its rule
 * (./rules/) in one transaction of the backend; reads go to the backend
 * as they are.
 */
export class SyncStorage implements Storage {
  readonly backend: string

  /** Group commit (rules/commit-group.ts), with the speed-ups on. */
  private readonly groups: GroupCommit | undefined

  constructor(
    private readonly db: Backend,
    private readonly options: SyncStorageOptions
  ) {
    this.backend = db.name
    this.groups = options.shortcuts ? new GroupCommit((collectionId, members) => db.transaction((tx) => commitGroup(tx, collectionId, members))) : undefined
  }

  migrate(): Promise<void> {
    return this.db.migrate()
  }

  ping(): Promise<void> {
    return this.db.ping()
  }

  poolStats(): PoolStats {
    return this.db.poolStats()
  }

  get readReplica(): ReadReplicaView | undefined {
    return this.db.readReplica
  }

  close(): Promise<void> {
    return this.db.close()
  }

  // Users

  createUser(user: NewUser, at: string): Promise<StoredUser> {
    return this.db.createUser(user, at)
  }

  getUser(id: string): Promise<StoredUser | undefined> {
    return this.db.getUser(id)
  }

  findUserByEmail(email: string): Promise<StoredUser | undefined> {
    return this.db.findUserByEmail(email)
  }

  async setUserPassword(id: string, password: string): Promise<void> {
    if (!(await this.db.setUserPassword(id, password))) throw new StorageError('not-found', `User "${id}" not found`)
  }

  // Collections

  createCollection(collection: NewCollection, at: string, quota?: CollectionQuota): Promise<StoredCollection> {
    const stored: StoredCollection = {
      ...collection,
      // A new epoch per incarnation of an id: cursors of a deleted namesake are recognised as stale.
      epoch: newFeedEpoch(),
      seq: 0,
      createdAt: at,
      updatedAt: at
    }
    return this.db.transaction((tx) => collections.createCollection(tx, stored, quota))
  }

  getCollection(id: string): Promise<StoredCollection | undefined> {
    return this.db.getCollection(id)
  }

  getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined> {
    return this.db.getCollectionAccess(collectionId, userId)
  }

  listCollections(params: ListCollectionsParams): Promise<Page<CollectionWithRole>> {
    return this.db.listCollections(params)
  }

  renameCollection(params: { id: string; name: string | null; actorId: string; at: string }): Promise<StoredCollection> {
    return this.db.transaction((tx) => collections.renameCollection(tx, params))
  }

  deleteCollection(params: { id: string; actorId: string }): Promise<CollectionRemoval> {
    return this.db.transaction((tx) => collections.deleteCollection(tx, params))
  }

  // Records

  getRecord(collectionId: string, id: string, options?: ReplicaReadable): Promise<StoredRecord | undefined> {
    return this.db.getRecord(collectionId, id, options)
  }

  findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
    return this.db.findRecords(collectionId, params)
  }

  async commitWrites(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome> {
    const collectionIds = new Set(writes.map((write) => write.collectionId))
    if (this.groups === undefined || collectionIds.size !== 1) return this.commitAlone(writes, context)
    // Writes of one collection that arrive while one is in flight are committed together (group-commit.ts).
    const [collectionId] = collectionIds
    const outcome = await this.groups.run(collectionId, () => this.commitAlone(writes, context), { writes, context })
    if (outcome.ok) return outcome.value
    if (outcome.error instanceof Replay) return { ...outcome.error.result, replayed: true }
    throw outcome.error
  }

  private async commitAlone(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome> {
    const single = this.options.shortcuts ? await this.db.shortcuts?.commitSingleWrite?.(writes, context) : undefined
    if (single !== undefined) return single
    return replayed(this.db.transaction((tx) => commitWrites(tx, writes, context, [], this.options.shortcuts)))
  }

  changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage> {
    return this.db.changesSince(collectionId, params)
  }

  // Batches

  openBatch(batch: NewBatch, limits: BatchLimits, now: string): Promise<{ batch: StoredBatch; created: boolean }> {
    return this.db.transaction((tx) => batches.openBatch(tx, batch, limits, now))
  }

  getBatch(id: string, now: string): Promise<StoredBatch | undefined> {
    return this.db.getBatch(id, now)
  }

  stageOperations(batchId: string, params: StageParams): Promise<StoredBatch> {
    return this.db.transaction((tx) => batches.stageOperations(tx, batchId, params))
  }

  listOperations(batchId: string): Promise<StagedOperation[]> {
    return this.db.listOperations(batchId)
  }

  async commitBatch(batchId: string, params: CommitBatchParams): Promise<CommitOutcome & { batch: StoredBatch }> {
    try {
      return await this.db.transaction((tx) => batches.commitBatch(tx, batchId, params, this.options.shortcuts))
    } catch (error) {
      if (error instanceof Replay) return { ...error.result, replayed: true, batch: error.extra as StoredBatch }
      throw error
    }
  }

  abortBatch(batchId: string, userId: string, now: string): Promise<StoredBatch> {
    return this.db.transaction((tx) => batches.abortBatch(tx, batchId, userId, now))
  }

  listOpenBatches(params: ListOpenBatchesParams): Promise<OpenBatchSummary[]> {
    return this.db.listOpenBatches(params)
  }

  // Operator view

  stats(now: string): Promise<StorageStats> {
    return this.db.stats(now)
  }

  // Idempotency keys

  getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined> {
    return this.db.getIdempotencyKey(userId, key, now)
  }

  claimIdempotencyKey(scope: IdempotencyScope, claim: IdempotencyClaim, at: string): Promise<ClaimOutcome> {
    return this.db.transaction((tx) => claimKey(tx, scope, claim, at))
  }

  completeIdempotencyKey(scope: IdempotencyScope, token: string, response: JsonValue, at: string): Promise<boolean> {
    return this.db.transaction((tx) => completeKey(tx, scope, token, response, at))
  }

  releaseIdempotencyKey(scope: IdempotencyScope, token: string): Promise<void> {
    return this.db.transaction((tx) => releaseKey(tx, scope, token))
  }

  purgeExpired(now: string, retainUntil: string): Promise<PurgeResult> {
    return this.db.purgeExpired(now, retainUntil)
  }

  /** A page of collections per transaction, in id order, so that no transaction grows with the database. */
  async renewAfterRestore({ pageSize = RENEWAL_PAGE }: { pageSize?: number } = {}): Promise<RestoreRenewal> {
    const total: RestoreRenewal = { collections: 0, leasesEnded: 0 }
    let after: string | null = null
    for (;;) {
      const from = after
      const page: { ids: string[]; leasesEnded: number } = await this.db.transaction((tx) => renewCollections(tx, from, pageSize))
      total.collections += page.ids.length
      total.leasesEnded += page.leasesEnded
      if (page.ids.length < pageSize) return total
      after = page.ids[page.ids.length - 1]
    }
  }

  // Locks

  acquireLock(params: AcquireLockParams): Promise<AcquireLockResult> {
    return this.db.transaction((tx) => locks.acquireLock(tx, params))
  }

  renewLock(collectionId: string, userId: string, holder: string, expiresAt: string, now: string): Promise<StoredLock> {
    return this.db.transaction((tx) => locks.renewLock(tx, collectionId, userId, holder, expiresAt, now))
  }

  releaseLock(collectionId: string, userId: string, holder: string, now: string): Promise<StoredLock | undefined> {
    return this.db.transaction((tx) => locks.releaseLock(tx, collectionId, userId, holder, now))
  }

  listLocks(collectionId: string, now: string): Promise<StoredLock[]> {
    return this.db.listLocks(collectionId, now)
  }

  breakLock(params: BreakLockParams): Promise<StoredLock[]> {
    return this.db.transaction((tx) => locks.breakLock(tx, params))
  }

  expireLocks(now: string): Promise<StoredLock[]> {
    return this.db.expireLeases(now)
  }

  // Sharing

  listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>> {
    return this.db.listMembers(collectionId, page)
  }

  listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>> {
    return this.db.listMemberRoles(collectionId)
  }

  getMember(collectionId: string, userId: string): Promise<StoredMember | undefined> {
    return this.db.getMember(collectionId, userId)
  }

  putMember(params: PutMemberParams): Promise<MemberChange> {
    return this.db.transaction((tx) => members.putMember(tx, params))
  }

  removeMember(params: { collectionId: string; userId: string; actorId: string; at: string }): Promise<MemberRemoval> {
    return this.db.transaction((tx) => members.removeMember(tx, params))
  }

  createInvitation(invitation: NewInvitation, at: string, quota?: InvitationQuota): Promise<StoredInvitation> {
    return this.db.transaction((tx) => invitations.createInvitation(tx, invitation, at, quota))
  }

  getInvitation(id: string, now: string): Promise<StoredInvitation | undefined> {
    return this.db.getInvitation(id, now)
  }

  listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>> {
    return this.db.listInvitations(params)
  }

  answerInvitation(params: { id: string; answer: 'accepted' | 'declined'; userId: string; at: string }): Promise<InvitationAnswer> {
    return this.db.transaction((tx) => invitations.answerInvitation(tx, params))
  }

  revokeInvitation(params: { id: string; actorId: string; at: string }): Promise<StoredInvitation> {
    return this.db.transaction((tx) => invitations.revokeInvitation(tx, params))
  }

  // Encryption keys

  putUserKey(params: { userId: string; publicKey: string; baseKeyVersion: number; passphraseWrap?: JsonValue | null; at: string }): Promise<StoredUserKey> {
    return this.db.transaction((tx) => keys.putUserKey(tx, params))
  }

  setPassphraseWrap(params: { userId: string; passphraseWrap: JsonValue | null; at: string }): Promise<StoredUserKey> {
    return this.db.transaction((tx) => keys.setPassphraseWrap(tx, params))
  }

  getUserKey(userId: string): Promise<StoredUserKey | undefined> {
    return this.db.getUserKey(userId)
  }

  listKeyEpochs(collectionId: string, actorId: string): Promise<StoredKeyEpoch[]> {
    return keys.listKeyEpochs(this.db, collectionId, actorId)
  }

  createKeyEpoch(params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }): Promise<{ epoch: StoredKeyEpoch; keys: StoredCollectionKey[] }> {
    return this.db.transaction((tx) => keys.createKeyEpoch(tx, params))
  }

  addCollectionKeys(params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }): Promise<StoredCollectionKey[]> {
    return this.db.transaction((tx) => keys.addCollectionKeys(tx, params))
  }

  listCollectionKeys(collectionId: string, params: { actorId: string; userId?: string; epoch?: number; limit: number; skip: number }): Promise<Page<StoredCollectionKey>> {
    return keys.listCollectionKeys(this.db, collectionId, params)
  }
}

/** An idempotent retry answered from its stored result, as a value. */
async function replayed(commit: Promise<CommitOutcome>): Promise<CommitOutcome> {
  try {
    return await commit
  } catch (error) {
    if (error instanceof Replay) return { ...error.result, replayed: true }
    throw error
  }
}
