import type {
  BatchStatus,
  ChangesPage,
  CommitResult,
  ChangesParams,
  CollectionWithRole,
  CommitOutcome,
  FindRecordsParams,
  IdempotencyClaim,
  IdempotencyScope,
  InvitationKey,
  JsonValue,
  ListCollectionsParams,
  ListInvitationsParams,
  ListOpenBatchesParams,
  LockMode,
  MemberRole,
  NewInvitation,
  NewUser,
  OpenBatchSummary,
  Page,
  PoolStats,
  PurgeResult,
  RecordWrite,
  StagedOperation,
  StoredBatch,
  StoredCollection,
  StoredCollectionKey,
  StoredKeyEpoch,
  StoredIdempotencyKey,
  StoredInvitation,
  StoredLock,
  StoredMember,
  StoredRecord,
  StoredUser,
  StoredUserKey,
  StorageStats,
  WriteContext,
  ReplicaReadable,
  ReadReplicaView
} from './types.js'

/**
 * What a database backend implements: mechanisms, not rules. The sync rules
 * (versioned writes, the gap-free feed, idempotency, leases, batches,
 * sharing) are written once in ./rules/ over the transaction interface
 * below, and SyncStorage (./sync-storage.ts) runs them in the backend's
 * transactions. A backend is SQLite/PostgreSQL (./knex/) or MongoDB
 * (./mongodb/).
 *
 * A step inside a transaction is a generator (`Tx<T>`): the rules compose
 * steps with `yield*`, and what a step yields is the backend's own business
 * (a SQL statement for knex, a driver promise for MongoDB), run by that
 * backend's `transaction`. Written this way one rule runs synchronously on
 * better-sqlite3 (a whole transaction in one turn of the event loop) and
 * asynchronously on PostgreSQL and MongoDB.
 */
export type Tx<T> = Generator<unknown, T, unknown>

// ---------------------------------------------------------------------------
// Inside a transaction
// ---------------------------------------------------------------------------

/** A collection taken for writing (CollectionsTx.takeCollection). */
export interface TakenCollection {
  /** Its state after the reservation: `seq` is the last position reserved. */
  collection: StoredCollection
  /** The fencing-token counter after the reservation: 0 if it was never locked. */
  lockSeq: number
  /** With `roleOf`: that user's role, read after the collection was taken; undefined if not a member. */
  role: MemberRole | undefined
}

export interface CollectionsTx {
  /**
   * Takes the collection for writing until the transaction ends. Every
   * transaction that takes the same collection is ordered with this one:
   * it sees everything this one did once it commits, or (on databases that
   * detect conflicts instead of waiting) fails and is retried. This is what
   * makes each collection linearizable (port.ts) and its feed gap-free.
   *
   * Reserves `positions` change positions (seq grows by that many) and, with
   * `lockToken`, the next fencing token (lockSeq grows by 1). With `roleOf`,
   * also reads that user's role. Undefined if the collection does not exist.
   */
  takeCollection(id: string, options?: { positions?: number; lockToken?: boolean; roleOf?: string }): Tx<TakenCollection | undefined>
  /** 'already-exists' if the id is taken (the driver's duplicate-key error as its `cause`). */
  insertCollection(collection: StoredCollection): Tx<void>
  setCollectionName(id: string, name: string | null, at: string): Tx<StoredCollection>
  /** Removes the collection with exactly what CollectionsPort.deleteCollection lists. */
  deleteCollection(id: string): Tx<void>
  /** Up to `limit` collection ids after `after` (null: from the first), in id order. */
  collectionIdsAfter(after: string | null, limit: number): Tx<string[]>
  /**
   * Takes the collection as takeCollection does, sets its epoch and moves its
   * fencing-token counter forward by `lockTokenGap` (renewAfterRestore).
   * False if it does not exist.
   */
  renewCollection(id: string, change: { epoch: string; lockTokenGap: number }): Tx<boolean>
}

export interface UsersTx {
  /** Takes the user until the transaction ends (per-user quotas), as takeCollection does a collection. False if no such user. */
  takeUser(userId: string): Tx<boolean>
  getUser(userId: string): Tx<StoredUser | undefined>
}

export interface RecordsTx {
  /** The current rows (records or tombstones) of these ids that exist. */
  getRecords(collectionId: string, ids: string[]): Tx<StoredRecord[]>
  /** Inserts new records; an id already there: 'already-exists'. */
  insertRecords(records: StoredRecord[]): Tx<void>
  /** Inserts the records whose id is free, skipping the others: how many were inserted. */
  insertRecordsIfAbsent(records: StoredRecord[]): Tx<number>
  /**
   * Replaces the record if it is still at `previous` (its version, and with
   * `live`, not a tombstone): whether it did (compare-and-set).
   */
  replaceRecord(record: StoredRecord, previous: { version: number; live?: boolean }): Tx<boolean>
  /**
   * replaceRecord for many records at once (group commit), each on the
   * version given: how many were replaced. Records of one collection, each
   * id once.
   */
  replaceRecords(replacements: Array<{ record: StoredRecord; previous: { version: number } }>): Tx<number>
}

export interface StoredKey extends StoredIdempotencyKey {
  expiresAt: string
  /** Set while a run of the call holds the key and has not answered yet (`response` is then null). */
  claim?: IdempotencyClaim
}

export interface KeysTx {
  /** The key as stored, expired or not, answered or pending. */
  getKey(userId: string, key: string): Tx<StoredKey | undefined>
  /** Stores the key with its answer, replacing one of the same name (expired or pending: the rules checked). */
  putKey(scope: IdempotencyScope, response: JsonValue, at: string): Tx<void>
  /** Stores the key as pending under a claim (no answer yet), replacing one of the same name. */
  putPendingKey(scope: IdempotencyScope, claim: IdempotencyClaim, at: string): Tx<void>
  /** Deletes the key. */
  deleteKey(userId: string, key: string): Tx<void>
}

export interface LocksTx {
  /** Every lease row of the collection, expired or not, oldest first (then by holder, then by user). */
  listLeases(collectionId: string): Tx<StoredLock[]>
  /** The live exclusive lease of the collection, if any. */
  liveExclusiveLease(collectionId: string, now: string): Tx<StoredLock | undefined>
  /**
   * Deletes the collection's leases that match (all of them without a
   * filter): those of one user, one holder of that user, one mode, or past
   * their expiry at `expiredAt`. Returns what it deleted.
   */
  deleteLeases(collectionId: string, match: { userId?: string; holder?: string; mode?: LockMode; expiredAt?: string }): Tx<StoredLock[]>
  insertLease(lock: StoredLock): Tx<void>
  setLeaseExpiry(collectionId: string, userId: string, holder: string, expiresAt: string): Tx<void>
}

export interface MembersTx {
  getMember(collectionId: string, userId: string): Tx<StoredMember | undefined>
  /** User ids of the collection's owners. */
  ownerIds(collectionId: string): Tx<string[]>
  /** Every member's user id and role. */
  memberRoles(collectionId: string): Tx<Array<{ userId: string; role: MemberRole }>>
  /** How many collections the user is an owner of. */
  countOwned(userId: string): Tx<number>
  insertMember(member: { collectionId: string; userId: string; role: MemberRole; at: string }): Tx<void>
  setMemberRole(collectionId: string, userId: string, role: MemberRole, at: string): Tx<void>
  deleteMember(collectionId: string, userId: string): Tx<void>
}

export interface InvitationsTx {
  /** As InvitationsQueries.getInvitation, inside the transaction. */
  getInvitation(id: string, now: string): Tx<StoredInvitation | undefined>
  /** With the keys it carries (invitation-keys.ts). */
  insertInvitation(invitation: NewInvitation, at: string): Tx<void>
  /** The keys the invitation carries; [] when none (or no such invitation). */
  invitationKeys(id: string): Tx<InvitationKey[]>
  /** Ids of the pending (by status, expired or not) invitations to the collection addressed to the user, by id or by e-mail. */
  pendingInvitationIds(collectionId: string, invitee: { userId: string; email: string }): Tx<string[]>
  /** Pending, unexpired invitations to the collection: how many, and the first to expire. */
  pendingInvitationStats(collectionId: string, now: string): Tx<{ count: number; firstExpiry: string | null }>
  /** Sets the status (and who answered, for an e-mail invitation). */
  closeInvitations(ids: string[], change: { status: 'accepted' | 'declined' | 'revoked'; at: string; inviteeUserId?: string }): Tx<void>
}

/** A key epoch as stored: StoredKeyEpoch without `missing`, which the rules work out. */
export type KeyEpochRow = Omit<StoredKeyEpoch, 'missing'>

/** End-to-end encryption keys (rules/keys.ts): users' public keys, key epochs and wrapped collection keys. */
export interface EncryptionTx {
  getUserKey(userId: string): Tx<StoredUserKey | undefined>
  /** Inserts or replaces the user's key (the rules took the user and checked the version). */
  putUserKey(key: StoredUserKey): Tx<void>
  /** Every member of the collection, sorted by user id, with their current keyVersion (null: no public key yet). */
  memberKeyVersions(collectionId: string): Tx<Array<{ userId: string; keyVersion: number | null }>>
  /** The collection's epochs, ascending. */
  keyEpochs(collectionId: string): Tx<KeyEpochRow[]>
  /** A taken epoch: 'already-exists'. */
  insertKeyEpoch(epoch: KeyEpochRow): Tx<void>
  /** The rows of these users for one epoch that exist. */
  getCollectionKeys(collectionId: string, epoch: number, userIds: string[]): Tx<StoredCollectionKey[]>
  /** Inserts the rows, replacing those of the same (collection, epoch, user). */
  putCollectionKeys(keys: StoredCollectionKey[]): Tx<void>
  /** Deletes a user's rows of the collection, every epoch. */
  deleteUserCollectionKeys(collectionId: string, userId: string): Tx<void>
}

export interface BatchesTx {
  /** Takes the batch until the transaction ends, as takeCollection does a collection; undefined if there is none. */
  takeBatch(id: string, now: string): Tx<StoredBatch | undefined>
  /** The batch without taking it. */
  getBatch(id: string, now: string): Tx<StoredBatch | undefined>
  insertBatch(batch: StoredBatch): Tx<void>
  /** Sets what is given; what is absent stays as it is. */
  updateBatch(id: string, change: { status?: BatchStatus; operationCount?: number; bytes?: number; result?: CommitResult; committedAt?: string }): Tx<void>
  /** The user's open, unexpired batches: how many, their bytes, and the first to expire. */
  openBatchStats(userId: string, now: string): Tx<{ count: number; bytes: number; firstExpiry: string | null }>
  /**
   * Stages operations, after the batch's last ordinal, in the order given; an
   * operation on a record already staged replaces it and keeps its place.
   */
  stageOperations(batchId: string, operations: Array<StagedOperation & { bytes: number }>): Tx<void>
  /** How many operations are staged and their bytes. */
  stagedTotals(batchId: string): Tx<{ count: number; bytes: number }>
  listOperations(batchId: string): Tx<StagedOperation[]>
  deleteOperations(batchIds: string[]): Tx<void>
  /** Ids of the user's open batches that staged an operation on the collection, sorted. */
  openBatchesTouching(userId: string, collectionId: string): Tx<string[]>
}

export interface StorageTx extends CollectionsTx, UsersTx, RecordsTx, KeysTx, LocksTx, MembersTx, InvitationsTx, EncryptionTx, BatchesTx {}

// ---------------------------------------------------------------------------
// Outside transactions: reads, and writes no rule governs
// ---------------------------------------------------------------------------

/** Reads of committed state, each on its own. */
export interface BackendQueries {
  getUser(id: string): Promise<StoredUser | undefined>
  findUserByEmail(email: string): Promise<StoredUser | undefined>
  getCollection(id: string): Promise<StoredCollection | undefined>
  getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined>
  listCollections(params: ListCollectionsParams): Promise<Page<CollectionWithRole>>
  getRecord(collectionId: string, id: string, options?: ReplicaReadable): Promise<StoredRecord | undefined>
  findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>>
  changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage>
  getBatch(id: string, now: string): Promise<StoredBatch | undefined>
  listOperations(batchId: string): Promise<StagedOperation[]>
  getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined>
  listLocks(collectionId: string, now: string): Promise<StoredLock[]>
  listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>>
  listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>>
  getMember(collectionId: string, userId: string): Promise<StoredMember | undefined>
  getInvitation(id: string, now: string): Promise<StoredInvitation | undefined>
  listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>>
  getUserKey(userId: string): Promise<StoredUserKey | undefined>
  keyEpochs(collectionId: string): Promise<KeyEpochRow[]>
  /**
   * For every epoch of the collection, the current members with a public key
   * who have no row for it made for their current keyVersion: ordered by
   * epoch, then user id.
   */
  missingCollectionKeys(collectionId: string): Promise<Array<{ epoch: number; userId: string }>>
  /** Rows ordered by (epoch, userId), filtered by what is given. */
  listCollectionKeys(collectionId: string, params: { userId?: string; epoch?: number; limit: number; skip: number }): Promise<Page<StoredCollectionKey>>
  /** As BatchesPort.listOpenBatches. */
  listOpenBatches(params: ListOpenBatchesParams): Promise<OpenBatchSummary[]>
  /** As StatsPort.stats. */
  stats(now: string): Promise<StorageStats>
}

export interface Backend extends BackendQueries {
  readonly name: 'sqlite' | 'postgres' | 'mongodb'
  /** Brings the schema (tables or indexes) up to date; safe on every start. */
  migrate(): Promise<void>
  /** As Storage.ping: one trivial query, no data read. */
  ping(): Promise<void>
  /** As Storage.poolStats: from memory, no database call. */
  poolStats(): PoolStats
  /** As Storage.readReplica. */
  readonly readReplica?: ReadReplicaView
  close(): Promise<void>

  /**
   * Runs `work` in one transaction and commits it if the steps return; rolls
   * back if they throw, and rethrows. Transient failures (serialisation
   * failures, deadlocks, write conflicts) are retried with a fresh `work`;
   * driver errors come out translated (StorageError), anything else the
   * steps threw (StorageError, Replay) as it is.
   */
  transaction<T>(work: (tx: StorageTx) => Tx<T>): Promise<T>

  /** 'already-exists' when the e-mail is taken. */
  createUser(user: NewUser, at: string): Promise<StoredUser>
  setUserPassword(id: string, password: string): Promise<boolean>
  /** Housekeeping; see MaintenancePort.purgeExpired. */
  purgeExpired(now: string, retainUntil: string): Promise<PurgeResult>
  /** Deletes every lease past its expiry and returns each exactly once, across instances. */
  expireLeases(now: string): Promise<StoredLock[]>

  /**
   * Speed-ups (./knex/shortcuts/, each with what it saves), present only when
   * the backend was made with them on. The rules never depend on them.
   */
  readonly shortcuts?: BackendShortcuts
}

/** One member's end in a group commit (rules/commit-group.ts): its value, or what refused it (a StorageError, a Replay). */
export type GroupOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown }

export interface BackendShortcuts {
  /**
   * The whole of a common single write in fewer round trips: its outcome, or
   * undefined when it does not apply (nothing changed), and the rules run.
   */
  commitSingleWrite?(writes: RecordWrite[], context: WriteContext): Promise<CommitOutcome | undefined>
}
