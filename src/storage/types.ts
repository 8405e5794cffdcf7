/**
 * The storage port: everything the services need from a database, spoken in
 * sync terms (versions, tombstones, change positions, compare-and-set) rather
 * than CRUD. Each backend (knex for SQLite/PostgreSQL today, MongoDB later)
 * implements this interface and passes the one conformance suite in
 * test/storage/conformance.test.ts.
 *
 * Every method either succeeds or throws a StorageError (./errors.ts); driver
 * errors never escape a backend.
 */

/** A JSON value as the client sent it. The server never looks inside. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export interface StoredUser {
  id: string
  /** Lower-cased. */
  email: string
  /** Password hash; never leaves the server. */
  password: string
  createdAt: string
}

export interface NewUser {
  email: string
  password: string
}

export interface StoredCollection {
  id: string
  name: string | null
  ownerId: string
  /**
   * Random per incarnation of a collection id: a collection deleted and
   * created again under the same id gets a new epoch, so cursors of the old
   * one are recognised as stale instead of silently skipping changes.
   */
  epoch: string
  /** Change position of the latest change in this collection; 0 when none. */
  seq: number
  createdAt: string
  updatedAt: string
}

export interface NewCollection {
  id: string
  name: string | null
  ownerId: string
}

/** Checked inside the creating transaction: at most this many collections owned (role owner) by the creator. */
export interface CollectionQuota {
  maxOwnedPerUser: number
}

/** Checked inside the inviting transaction: at most this many pending (unexpired) invitations to one collection. */
export interface InvitationQuota {
  maxPendingPerCollection: number
}

export interface StoredRecord {
  collectionId: string
  id: string
  version: number
  /** `null` for tombstones. */
  data: JsonValue
  deleted: boolean
  updatedAt: string
  updatedBy: string | null
  /**
   * The idempotency key of the call that wrote this version, absent when it
   * had none. Kept with the version for as long as it is current, unlike the
   * key's stored answer, which expires: a retry of a call whose answer was
   * lost that long finds its own key here (see WriteContext.idempotencyKey).
   */
  idempotencyKey?: string
  /** Change position: unique and dense within a collection (1, 2, 3, …). */
  seq: number
}

/**
 * One versioned write. `baseVersion` is the version the client based the write
 * on; the write applies only if it is still the current version.
 */
export type RecordWrite =
  | {
      op: 'create'
      collectionId: string
      id: string
      data: JsonValue
      /** Needed only to re-create an id over a tombstone: the tombstone's version. */
      baseVersion?: number
    }
  | { op: 'update'; collectionId: string; id: string; data: JsonValue; baseVersion: number }
  | { op: 'patch'; collectionId: string; id: string; data: { [key: string]: JsonValue }; baseVersion: number }
  | { op: 'delete'; collectionId: string; id: string; baseVersion: number }
  /**
   * Create or replace, as batches stage it: `baseVersion` null means the record
   * must not exist yet; a number is the version it replaces (a tombstone's, to
   * re-create a deleted id).
   */
  | { op: 'put'; collectionId: string; id: string; data: JsonValue; baseVersion: number | null }

export type WriteOutcome = 'created' | 'updated' | 'deleted'

/** Apply only if the collection has no change after position `seq`. */
export interface CollectionCondition {
  collectionId: string
  seq: number
}

/**
 * Makes a commit idempotent: stored with the commit, in its transaction, so a
 * retry with the same key gets the same result and applies nothing again.
 */
export interface IdempotencyScope {
  userId: string
  key: string
  /** Hash of what the request asked for; the same key with another one is refused. */
  fingerprint: string
  expiresAt: string
}

export interface WriteContext {
  /** User id recorded as `updatedBy`; also whose lock tokens `lockTokens` are. */
  actor: string | null
  /** ISO timestamp recorded as `updatedAt`. */
  at: string
  /** Largest `data` a write may leave, in bytes of its JSON (patches merge, so they are checked here). */
  maxDataBytes?: number
  /**
   * The call's idempotency key, recorded with every record version the call
   * writes (StoredRecord.idempotencyKey); absent, the versions record none.
   * Set for keyed calls whether or not `idempotency` is (a batch commit's key
   * is kept by the service, not in the write's transaction).
   */
  idempotencyKey?: string
  /** Makes the write itself idempotent: its result is stored under the key, in its transaction. */
  idempotency?: IdempotencyScope
  /**
   * Fencing tokens of the caller's exclusive locks, by collection. A write to
   * a collection under someone else's live exclusive lock, or naming a token
   * that is not the live lease's, fails with 'locked'.
   */
  lockTokens?: Record<string, number>
  /**
   * The actor must be a member with at least this role of every collection
   * written, checked inside the transaction: a membership change that
   * committed first (they lock the same collection rows) is seen, so a member
   * removed or demoted a moment ago cannot still write. 'forbidden' otherwise.
   */
  requireRole?: MemberRole
}

// Locks

export type LockMode = 'exclusive' | 'shared'

export interface StoredLock {
  collectionId: string
  userId: string
  /** The client/device of that user holding it, as the client names it. */
  holder: string
  mode: LockMode
  /** Fencing token: strictly increases with every grant on the collection. */
  token: number
  acquiredAt: string
  expiresAt: string
}

export interface AcquireLockParams {
  collectionId: string
  userId: string
  holder: string
  mode: LockMode
  /** ISO time the lease ends, if granted now. */
  expiresAt: string
  now: string
}

export interface AcquireLockResult {
  lock: StoredLock
  /** False when the same holder already held it: the same lock, with its lease extended. */
  created: boolean
  /** Expired leases this call cleared on the way (their expiry is announced once, by whoever clears them). */
  expired: StoredLock[]
}

/** A commit's result, and whether it was replayed from an earlier identical request. */
export interface CommitOutcome extends CommitResult {
  replayed: boolean
}

// Batches

/** `expired`: was open when its time ran out; set by the sweeper, or seen as such once past `expiresAt`. */
export type BatchStatus = 'open' | 'committed' | 'aborted' | 'expired'

export interface StoredBatch {
  id: string
  userId: string
  status: BatchStatus
  operationCount: number
  bytes: number
  declaredOperations: number | null
  declaredBytes: number | null
  createdAt: string
  expiresAt: string
  committedAt: string | null
  /** Set once committed. */
  result: CommitResult | null
}

export interface NewBatch {
  id: string
  userId: string
  expiresAt: string
  declaredOperations: number | null
  declaredBytes: number | null
}

/** One staged operation: a put or a delete (RecordWrite without patch semantics). */
export type StagedOperation =
  | { op: 'put'; collectionId: string; id: string; data: JsonValue; baseVersion: number | null }
  | { op: 'delete'; collectionId: string; id: string; baseVersion: number }

export interface BatchLimits {
  maxOperations: number
  maxBytes: number
  maxOpenPerUser: number
  maxStagedBytesPerUser: number
}

export interface StageParams {
  userId: string
  operations: StagedOperation[]
  limits: BatchLimits
  /** ISO "now": a batch past its expiry takes no more operations. */
  now: string
}

export interface CommitBatchParams {
  userId: string
  conditions: CollectionCondition[]
  context: WriteContext
}

export interface PurgeResult {
  expiredBatches: number
  deletedBatches: number
  deletedKeys: number
  /** Invitations answered, revoked or expired before retainUntil. */
  deletedInvitations: number
}

export interface StoredIdempotencyKey {
  fingerprint: string
  response: JsonValue
}

export interface CommitResult {
  /** New state of each written record, in the order of the writes. */
  records: StoredRecord[]
  /** What each write did, in the order of the writes. */
  outcomes: WriteOutcome[]
  /** Latest change position of each collection touched, after the commit. */
  positions: Record<string, { seq: number; epoch: string }>
}

export type SortField = 'id' | 'version' | 'updatedAt' | 'updatedBy' | 'seq'

export interface FindRecordsParams {
  /** `false` (live records) unless asked for; `true` lists tombstones only. */
  deleted: boolean
  ids?: string[]
  updatedBy?: string
  /** Strings compare by code point; a null `updatedBy` sorts before every user id. */
  sort: Array<[SortField, 1 | -1]>
  limit: number
  skip: number
}

export interface Page<T> {
  total: number
  data: T[]
}

export interface ChangesParams {
  /** Return changes with a position strictly greater than this. */
  since: number
  limit: number
}

export interface ChangesPage {
  /** Records and tombstones in change-position order. */
  changes: StoredRecord[]
  /** True when more changes follow the last one returned. */
  more: boolean
}

export interface ListCollectionsParams {
  /** The collections this user is a member of. */
  memberId: string
  limit: number
  skip: number
}

/** What a member may do, from most to least: see src/access.ts. */
export type MemberRole = 'owner' | 'admin' | 'writer' | 'reader'

/** A collection as one user sees it. */
export interface CollectionWithRole extends StoredCollection {
  role: MemberRole
}

export interface StoredMember {
  collectionId: string
  userId: string
  email: string
  role: MemberRole
  createdAt: string
  updatedAt: string
}

export interface MemberChange {
  member: StoredMember
  /** The role before; undefined when the member was added. */
  previousRole: MemberRole | undefined
  /** Exclusive leases ended because the member can no longer write (made a reader). */
  locks: StoredLock[]
  /** Their other pending invitations to the collection, revoked (superseded) by this change. */
  revokedInvitations: StoredInvitation[]
}

/** What ended with a member's removal. */
export interface MemberRemoval {
  member: StoredMember
  /** Their leases on the collection, released. */
  locks: StoredLock[]
  /** Ids of their open batches that staged operations on the collection, aborted. */
  abortedBatches: string[]
  /** Their pending invitations to the collection, revoked. */
  revokedInvitations: StoredInvitation[]
}

export type InvitationStatus = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired'

export interface StoredInvitation {
  id: string
  collectionId: string
  /** The collection's name now (the invitee cannot read the collection before accepting). */
  collectionName: string | null
  role: MemberRole
  /**
   * Who is invited: one of the two when created; once answered,
   * inviteeUserId is the user who answered (an e-mail invitation learns it).
   */
  inviteeUserId: string | null
  inviteeEmail: string | null
  invitedBy: string
  /** 'expired' once past expiresAt while still pending. */
  status: InvitationStatus
  createdAt: string
  expiresAt: string
  answeredAt: string | null
}

export interface NewInvitation {
  id: string
  collectionId: string
  role: MemberRole
  inviteeUserId: string | null
  /** Lower case. */
  inviteeEmail: string | null
  invitedBy: string
  expiresAt: string
}

export interface ListInvitationsParams {
  /** A collection's invitations (for its managers)… */
  collectionId?: string
  /** …or those addressed to this user, by id or by their (lower-case) e-mail. */
  invitee?: { userId: string; email: string }
  /** Only these; every status when absent. 'expired' and 'pending' are told apart by `now`. */
  status?: InvitationStatus
  now: string
  limit: number
  skip: number
}

export interface InvitationAnswer {
  invitation: StoredInvitation
  /** On 'accepted': the membership it created or changed. */
  change?: MemberChange
}

export interface Storage {
  /** 'sqlite' | 'postgres' | … — for logs and the conformance suite. */
  readonly backend: string

  /** Brings the schema up to date. Safe to call on every start. */
  migrate(): Promise<void>
  close(): Promise<void>

  createUser(user: NewUser, at: string): Promise<StoredUser>
  getUser(id: string): Promise<StoredUser | undefined>
  findUserByEmail(email: string): Promise<StoredUser | undefined>
  /** Replaces a user's password hash (a sign-in upgrading an old hash); 'not-found' if there is no such user. */
  setUserPassword(id: string, password: string): Promise<void>

  /** Over the quota (collections the owner owns already): 'quota-exceeded', and nothing is created. */
  createCollection(collection: NewCollection, at: string, quota?: CollectionQuota): Promise<StoredCollection>
  getCollection(id: string): Promise<StoredCollection | undefined>
  /** Whether (and as what) a user may see a collection, in one read; undefined if the collection does not exist. */
  getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined>
  /** The collections a user is a member of, with their role, ordered by id. */
  listCollections(params: ListCollectionsParams): Promise<Page<CollectionWithRole>>
  renameCollection(id: string, name: string | null, at: string): Promise<StoredCollection>
  /** Removes the collection with all its records. */
  deleteCollection(id: string): Promise<StoredCollection>

  getRecord(collectionId: string, id: string): Promise<StoredRecord | undefined>
  findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>>

  /**
   * Applies all writes in one transaction, or none: every base version is
   * checked inside the transaction, and if any write conflicts a
   * StorageError('conflict') lists every conflict and nothing is applied.
   * Each written record gets the next change position of its collection.
   * Resolves only once the transaction has committed.
   */
  commitWrites(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome>

  /**
   * Changes with a position after `since`, oldest first, each record at most
   * once in its latest state. A change that commits after this call returns
   * gets a position greater than every position returned.
   */
  changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage>

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

  getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined>
  /** Keeps a response under a key; if the key was stored meanwhile, keeps the first. */
  saveIdempotencyKey(scope: IdempotencyScope, response: JsonValue, at: string): Promise<void>

  /** Marks open batches past expiry as expired and drops their operations; deletes old batches and keys. */
  purgeExpired(now: string, retainUntil: string): Promise<PurgeResult>

  /**
   * Grants a lease, in a transaction serialised with the collection's writes:
   * exclusive if nobody else holds a live lock, shared if nobody else holds a
   * live exclusive one; otherwise 'locked' with the locks in the way. The same
   * holder (user + holder id) asking again gets its lock back with the new
   * expiry and the same token; asking for another mode replaces it with a new
   * grant. Missing collection: 'not-found'.
   */
  acquireLock(params: AcquireLockParams): Promise<AcquireLockResult>
  /** Extends a live lease of this holder; none (released or expired): 'not-found'. */
  renewLock(collectionId: string, userId: string, holder: string, expiresAt: string, now: string): Promise<StoredLock>
  /** Ends this holder's lease; returns it, or undefined if there was none (already released or expired). */
  releaseLock(collectionId: string, userId: string, holder: string, now: string): Promise<StoredLock | undefined>
  /** Live leases on a collection, oldest first. */
  listLocks(collectionId: string, now: string): Promise<StoredLock[]>
  /** Deletes every lease past its expiry and returns them (each exactly once, across server instances). */
  expireLocks(now: string): Promise<StoredLock[]>
  /** Ends every lease of one user on one collection (a member removed): returns them. */
  releaseLocksOf(collectionId: string, userId: string): Promise<StoredLock[]>

  // Sharing. Membership changes of one collection serialise with each other
  // (and with its writes) on the collection's row, so two owners demoting
  // each other at once cannot leave it without one.

  /** Members ordered by user id. */
  listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>>
  /** Every member's user id and role: who hears the collection's events. */
  listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>>
  getMember(collectionId: string, userId: string): Promise<StoredMember | undefined>
  /**
   * Adds a member or changes their role; their pending invitations to the
   * collection are revoked (superseded), and made a reader they lose their
   * exclusive leases on it. `onlyIf: 'new'` refuses an existing
   * member ('already-exists'), `'existing'` a non-member ('not-found').
   * Demoting the last owner: 'last-owner'. Missing collection or user: 'not-found'.
   */
  putMember(member: { collectionId: string; userId: string; role: MemberRole }, at: string, onlyIf?: 'new' | 'existing'): Promise<MemberChange>
  /**
   * Removes a member, releases their leases on the collection, revokes their
   * pending invitations to it and aborts
   * their open batches that staged operations on it, in one transaction.
   * Not a member: 'not-found'; the last owner: 'last-owner'.
   */
  removeMember(collectionId: string, userId: string, at: string): Promise<MemberRemoval>

  /** Over the quota (pending invitations to the collection): 'quota-exceeded', and nothing is created. */
  createInvitation(invitation: NewInvitation, at: string, quota?: InvitationQuota): Promise<StoredInvitation>
  getInvitation(id: string, now: string): Promise<StoredInvitation | undefined>
  /** Newest first. */
  listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>>
  /**
   * The invitee's (`userId`, checked by the caller) answer. Accepting makes them a member with the invited role
   * (or changes their role) in the same transaction, under putMember's rules.
   * No longer pending: 'closed' with the status.
   */
  answerInvitation(id: string, answer: 'accepted' | 'declined', userId: string, at: string): Promise<InvitationAnswer>
  /** Withdraws a pending invitation; no longer pending: 'closed'. */
  revokeInvitation(id: string, at: string): Promise<StoredInvitation>
}
