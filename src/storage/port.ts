import type {
  AcquireLockParams,
  AcquireLockResult,
  BatchLimits,
  BreakLockParams,
  ChangesPage,
  ChangesParams,
  CollectionQuota,
  CollectionWithRole,
  CommitBatchParams,
  CommitOutcome,
  FindRecordsParams,
  ClaimOutcome,
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

/**
 * The storage port: everything the services need from a database, spoken in
 * sync terms (versions, tombstones, change positions, compare-and-set), split
 * by concern. One implementation, SyncStorage (./sync-storage.ts), runs the
 * sync rules (./rules/) over a backend's mechanisms (./backend.ts); every
 * backend passes the one conformance suite (test/storage/suite/).
 *
 * Guarantees every backend keeps:
 * - **Linearizable per collection.** Record writes, batch commits, lock
 *   grants, renewals and releases, membership changes, invitation changes,
 *   renames and deletion of one collection happen one after another: each sees
 *   every one that committed before it, and checks its preconditions (versions,
 *   roles, leases, the last owner) against that state, inside its transaction.
 * - **Per user**, creating collections and opening or filling batches are
 *   linearizable too, so the per-user quotas hold under concurrency.
 * - **Atomic**: each method's changes commit together or not at all.
 * - Every method either succeeds or throws a StorageError (./errors.ts);
 *   driver errors never escape a backend.
 * - Mutations of a collection check, in this order: that it exists
 *   ('not-found'), that the actor may do it ('forbidden', with the actor's
 *   role; no role: not a member), then the change's own rules ('last-owner',
 *   'locked', 'conflict', …).
 */

export interface UsersPort {
  /** An e-mail address already taken: 'already-exists'. */
  createUser(user: NewUser, at: string): Promise<StoredUser>
  getUser(id: string): Promise<StoredUser | undefined>
  findUserByEmail(email: string): Promise<StoredUser | undefined>
  /** Replaces a user's password hash (a sign-in upgrading an old hash); 'not-found' if there is no such user. */
  setUserPassword(id: string, password: string): Promise<void>
}

/** What deleting a collection removed, for the announcements that follow. */
export interface CollectionRemoval {
  collection: StoredCollection
  /** Its members at the moment it was deleted: who hears of it. */
  members: Array<{ userId: string; role: MemberRole }>
}

export interface CollectionsPort {
  /**
   * Creates the collection with its creator as its one owner. Over the quota
   * (collections the owner owns already): 'quota-exceeded', and nothing is created.
   */
  createCollection(collection: NewCollection, at: string, quota?: CollectionQuota): Promise<StoredCollection>
  getCollection(id: string): Promise<StoredCollection | undefined>
  /** Whether (and as what) a user may see a collection, in one read; undefined if the collection does not exist. */
  getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined>
  /** The collections a user is a member of, with their role, ordered by id. */
  listCollections(params: ListCollectionsParams): Promise<Page<CollectionWithRole>>
  /** The actor must be an admin or owner of it, checked in the transaction ('forbidden'). Missing: 'not-found'. */
  renameCollection(params: { id: string; name: string | null; actorId: string; at: string }): Promise<StoredCollection>
  /**
   * The actor must be an owner of it, checked in the transaction
   * ('forbidden'); missing: 'not-found'. Removes the collection and, with it, exactly: its records
   * and tombstones, its members, its leases, its invitations (whatever
   * their status, with the keys they carry), its key epochs and its wrapped
   * keys. Users' public keys stay. Batches are the user's and stay: operations staged on the
   * collection stay too, and a commit of them fails with 'not-found'.
   * Idempotency keys are the user's and stay.
   */
  deleteCollection(params: { id: string; actorId: string }): Promise<CollectionRemoval>
}

export interface RecordsPort {
  getRecord(collectionId: string, id: string, options?: ReplicaReadable): Promise<StoredRecord | undefined>
  findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>>

  /**
   * Applies all writes in one transaction, or none: every base version is
   * checked inside the transaction, and if any write conflicts a
   * StorageError('conflict') lists every conflict and nothing is applied.
   * Each written record gets the next change position of its collection.
   * Resolves only once the transaction has committed. The algorithm is in
   * rules/commit-writes.ts.
   */
  commitWrites(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome>

  /**
   * Changes with a position after `since`, oldest first, each record at most
   * once in its latest state. A change that commits after this call returns
   * gets a position greater than every position returned: the feed has no
   * gaps (rules/commit-writes.ts says why).
   */
  changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage>
}

export interface BatchesPort {
  /**
   * Opens a batch, or returns the caller's batch with that id as it is (so a
   * lost answer to "open" is harmless). Another user's id: 'already-exists';
   * too many open batches: 'quota-exceeded'.
   */
  openBatch(batch: NewBatch, limits: BatchLimits, now: string): Promise<{ batch: StoredBatch; created: boolean }>
  /** The batch as stored; status 'expired' once past its expiry. */
  getBatch(id: string, now: string): Promise<StoredBatch | undefined>
  /**
   * Stages operations in one transaction; an operation on a record already
   * staged replaces it. Over a limit: 'too-large' (per batch) or
   * 'quota-exceeded' (per user), and nothing changes. Not open: 'closed'.
   */
  stageOperations(batchId: string, params: StageParams): Promise<StoredBatch>
  /** The staged operations in staging order. */
  listOperations(batchId: string): Promise<StagedOperation[]>
  /**
   * Applies every staged operation and the conditions in one transaction, as
   * commitWrites does, and keeps the result: committing a committed batch
   * returns it again (replayed). Aborted or expired: 'closed'.
   */
  commitBatch(batchId: string, params: CommitBatchParams): Promise<CommitOutcome & { batch: StoredBatch }>
  /** Aborts an open batch and drops what it staged; aborting again is a no-op. Committed: 'closed'. */
  abortBatch(batchId: string, userId: string, now: string): Promise<StoredBatch>
  /**
   * Open, unexpired batches with at least one operation staged on the
   * collection (of one user when `userId` is given), oldest first (then by
   * id), at most `limit`; their counts are of the whole batch.
   */
  listOpenBatches(params: ListOpenBatchesParams): Promise<OpenBatchSummary[]>
}

export interface IdempotencyPort {
  /** The unexpired, answered key (a pending claim is not an answer: undefined). */
  getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined>
  /**
   * Claims the key for one run of a call, in the database so that runs in
   * several processes see each other: 'claimed' if nobody holds it (no row,
   * an expired one, or a pending claim past its lease: taken over) or this
   * claim's token already does (its lease is renewed), 'done' with the answer
   * if it was answered, 'pending' if another claim's lease runs. The same key
   * for another request (an unexpired row of another fingerprint, answered or
   * not): 'key-reused'. Of concurrent claims of one key exactly one wins.
   */
  claimIdempotencyKey(scope: IdempotencyScope, claim: IdempotencyClaim, at: string): Promise<ClaimOutcome>
  /**
   * Stores the answer under the key this claim holds, ending the claim:
   * false (and nothing stored) if the claim was lost (taken over after its
   * lease, or released).
   */
  completeIdempotencyKey(scope: IdempotencyScope, token: string, response: JsonValue, at: string): Promise<boolean>
  /** Drops the key if this claim still holds it (the call failed: a retry runs again). */
  releaseIdempotencyKey(scope: IdempotencyScope, token: string): Promise<void>
}

export interface LocksPort {
  /**
   * Grants a lease, linearizable with the collection's writes: exclusive if
   * nobody else holds a live lock, shared if nobody else holds a live
   * exclusive one; otherwise 'locked' with the locks in the way. The same
   * holder (user + holder id) asking again gets its lock back with the new
   * expiry and the same token; asking for another mode replaces it with a new
   * grant and a new token. Tokens strictly increase per collection. Missing
   * collection: 'not-found'.
   */
  acquireLock(params: AcquireLockParams): Promise<AcquireLockResult>
  /** Extends a live lease of this holder; none (released or expired): 'not-found'. */
  renewLock(collectionId: string, userId: string, holder: string, expiresAt: string, now: string): Promise<StoredLock>
  /** Ends this holder's lease; returns it, or undefined if there was none (already released or expired). */
  releaseLock(collectionId: string, userId: string, holder: string, now: string): Promise<StoredLock | undefined>
  /** Live leases on a collection, oldest first. */
  listLocks(collectionId: string, now: string): Promise<StoredLock[]>
  /**
   * An owner ends other holders' leases: every live lease of `holder` (of
   * `userId` when given) on the collection, returned ([] when none: already
   * released or expired). The actor must be an owner, checked in the
   * transaction ('forbidden'); missing collection: 'not-found'. The holder's
   * token is not reused (tokens only grow), so its later fenced writes fail
   * with 'locked'.
   */
  breakLock(params: BreakLockParams): Promise<StoredLock[]>
  /** Deletes every lease past its expiry and returns them (each exactly once, across server instances). */
  expireLocks(now: string): Promise<StoredLock[]>
}

/** Adding a member or changing their role. */
export interface PutMemberParams {
  collectionId: string
  userId: string
  role: MemberRole
  at: string
  /**
   * Who asks: checked in the transaction to be allowed to give `userId` the
   * role (roles.ts, mayManageMember): 'forbidden' otherwise.
   */
  actorId: string
  /** 'new' refuses an existing member ('already-exists'), 'existing' a non-member ('not-found'). */
  onlyIf?: 'new' | 'existing'
}

export interface SharingPort {
  /** Members ordered by user id. */
  listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>>
  /** Every member's user id and role: who hears the collection's events. */
  listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>>
  getMember(collectionId: string, userId: string): Promise<StoredMember | undefined>
  /**
   * Adds a member or changes their role; their pending invitations to the
   * collection are revoked (superseded), and made a reader they lose their
   * exclusive leases on it. Demoting the last owner: 'last-owner'. Missing
   * collection or user: 'not-found'.
   */
  putMember(params: PutMemberParams): Promise<MemberChange>
  /**
   * Removes a member, releases their leases on the collection, revokes their
   * pending invitations to it, deletes their wrapped keys of it and aborts
   * their open batches that staged operations on it, in one transaction. The actor removes themselves
   * (leaving) or must be allowed to remove them ('forbidden'). Missing
   * collection, or not a member: 'not-found'; the last owner: 'last-owner'.
   */
  removeMember(params: { collectionId: string; userId: string; actorId: string; at: string }): Promise<MemberRemoval>

  /**
   * `invitedBy` must be allowed to give the invited role, checked in the
   * transaction ('forbidden'). Over the quota (pending invitations to the
   * collection): 'quota-exceeded', and nothing is created.
   */
  createInvitation(invitation: NewInvitation, at: string, quota?: InvitationQuota): Promise<StoredInvitation>
  getInvitation(id: string, now: string): Promise<StoredInvitation | undefined>
  /** Newest first. */
  listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>>
  /**
   * The invitee's answer: `userId` must be the invitee (by user id, or by
   * e-mail for an invitation by address), checked in the transaction
   * ('forbidden'). Accepting makes them a member with the invited role (or
   * changes their role) in the same transaction, and adds the keys it
   * carries whose epoch still exists and whose keyVersion is still theirs
   * (the others are dropped). No longer pending: 'closed'
   * with the status.
   */
  answerInvitation(params: { id: string; answer: 'accepted' | 'declined'; userId: string; at: string }): Promise<InvitationAnswer>
  /**
   * Withdraws a pending invitation; the actor must be allowed to give its
   * role ('forbidden'). No longer pending: 'closed'.
   */
  revokeInvitation(params: { id: string; actorId: string; at: string }): Promise<StoredInvitation>
}

/**
 * End-to-end encryption keys (docs/ENCRYPTION.md): users' public keys, and
 * the key epochs of encrypted collections with their keys wrapped for each
 * member. Epochs and keys change with the collection taken (as membership
 * changes do), so an epoch is checked against the members as they are.
 */
export interface KeysPort {
  /**
   * Sets or replaces the user's public key: `baseKeyVersion` is the version
   * it replaces (0: none yet), and the new one is base + 1. Another version
   * now: 'conflict' with `data: { current: StoredUserKey | null }`. The
   * passphrase copy is set to `passphraseWrap` (absent: none; a copy of the
   * old secret would not open the new key). No such user: 'not-found'.
   */
  putUserKey(params: { userId: string; publicKey: string; baseKeyVersion: number; passphraseWrap?: JsonValue | null; at: string }): Promise<StoredUserKey>
  /** Sets or clears only the passphrase copy; no key yet: 'not-found'. */
  setPassphraseWrap(params: { userId: string; passphraseWrap: JsonValue | null; at: string }): Promise<StoredUserKey>
  getUserKey(userId: string): Promise<StoredUserKey | undefined>
  /**
   * The collection's epochs, ascending, for any member ('forbidden' with no
   * role to others; missing collection: 'not-found'); `missing` filled only
   * for owners and admins.
   */
  listKeyEpochs(collectionId: string, actorId: string): Promise<StoredKeyEpoch[]>
  /**
   * Starts epoch current + 1 with a key for every current member that has a
   * public key, in one transaction with the collection taken. Owners and
   * admins only ('forbidden'). 'conflict' with `data`: `{ reason:
   * 'epoch-taken', currentEpoch }`, `{ reason: 'members-changed', missing,
   * notMembers }` or `{ reason: 'stale-key', userIds }`; nothing is written then.
   */
  createKeyEpoch(params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }): Promise<{ epoch: StoredKeyEpoch; keys: StoredCollectionKey[] }>
  /**
   * Adds keys to an existing epoch ('not-found' otherwise), owners and admins
   * only. Every user a current member (else 'conflict' `{ reason:
   * 'members-changed', notMembers }`), every keyVersion current (else
   * 'conflict' `{ reason: 'stale-key', userIds }`). A row already there with
   * the same keyVersion is kept and not returned; one with an older version
   * is replaced. Returns the rows written, by user id.
   */
  addCollectionKeys(params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }): Promise<StoredCollectionKey[]>
  /**
   * Wrapped keys ordered by (epoch, userId), for members: owners and admins
   * see every row, others only their own (asking for another user's:
   * 'forbidden' with their role; their own is the default filter).
   */
  listCollectionKeys(collectionId: string, params: { actorId: string; userId?: string; epoch?: number; limit: number; skip: number }): Promise<Page<StoredCollectionKey>>
}

/** The operator view's counts: a snapshot read, no record data. */
export interface StatsPort {
  /** What the database holds now (each count its own read: they need not add up to one instant). */
  stats(now: string): Promise<StorageStats>
}

export interface MaintenancePort {
  /** Marks open batches past expiry as expired and drops their operations; deletes old batches, idempotency keys and invitations (with the collection keys they carry). */
  purgeExpired(now: string, retainUntil: string): Promise<PurgeResult>
  /**
   * After the database was restored from a backup, while no server uses it
   * (scripts/after-restore.ts): makes unusable what clients were handed after
   * the backup was taken, which the database no longer knows of.
   * Every collection gets a new feed epoch, so every cursor issued before
   * fails as stale (410) and its holder pulls from the beginning instead of
   * skipping the positions the restored collection hands out again. Its
   * fencing-token counter moves forward by LOCK_TOKEN_GAP (rules/restore.ts),
   * so no token issued before — also after the backup — is issued again, and
   * every lease ends (its holder acquires again). Records, positions
   * (`seq`), members, invitations, keys, batches and idempotency keys stay
   * as restored. Collections are renewed `pageSize` at a time (500 by
   * default), each page atomically; running it again (after an
   * interruption, or twice) renews again and is harmless.
   */
  renewAfterRestore(params?: { pageSize?: number }): Promise<RestoreRenewal>
}

export interface Storage extends UsersPort, CollectionsPort, RecordsPort, BatchesPort, IdempotencyPort, LocksPort, SharingPort, KeysPort, MaintenancePort, StatsPort {
  /** 'sqlite' | 'postgres' | 'mongodb': for logs, health and the conformance suite. */
  readonly backend: string
  /** Brings the schema up to date. Safe to call on every start. */
  migrate(): Promise<void>
  /**
   * A trivial round trip to the database (readiness, /ready): resolves if it
   * answers, throws a StorageError if not. Reads no data.
   */
  ping(): Promise<void>
  /** The connection pool's state now, read from memory (no database call): for /metrics. */
  poolStats(): PoolStats
  /**
   * The read replica, when one is configured (PostgreSQL, databaseReadUrl):
   * it serves the reads given a horizon (ReplicaReadable) that it can serve
   * as well as the primary; the primary serves the rest.
   */
  readonly readReplica?: ReadReplicaView
  close(): Promise<void>
}
