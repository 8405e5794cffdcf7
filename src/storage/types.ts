/**
 * The values the storage port (./port.ts) speaks in: users, collections,
 * versioned records, batches, leases, members and invitations.
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

/** What MaintenancePort.renewAfterRestore did. */
export interface RestoreRenewal {
  /** Collections given a new feed epoch and fencing-token range. */
  collections: number
  /** Leases it ended (every lease there was). */
  leasesEnded: number
}

export interface StoredIdempotencyKey {
  fingerprint: string
  response: JsonValue
}

/**
 * A claim on an idempotency key by one run of a call (the calls whose answer
 * is stored after the call, not in its transaction): other runs with the key
 * wait for it until `pendingUntil`, after which the claim is abandoned (its
 * process died) and may be taken over.
 */
export interface IdempotencyClaim {
  /** Unique to this run (a UUID: at most 36 characters): only it may complete, renew or release the claim. */
  token: string
  /** ISO timestamp: the claim's lease. */
  pendingUntil: string
}

/**
 * What claiming a key found: it is now this run's ('claimed', also when the
 * run already held it: the lease is renewed), it was answered already
 * ('done', with the answer to replay), or another run holds it ('pending').
 */
export type ClaimOutcome = { state: 'claimed' } | { state: 'done'; response: JsonValue } | { state: 'pending'; pendingUntil: string }

export interface CommitResult {
  /** New state of each written record, in the order of the writes. */
  records: StoredRecord[]
  /** What each write did, in the order of the writes. */
  outcomes: WriteOutcome[]
  /** Latest change position of each collection touched, after the commit. */
  positions: Record<string, { seq: number; epoch: string }>
}

export type SortField = 'id' | 'version' | 'updatedAt' | 'updatedBy' | 'seq'

/**
 * Lets a read of one collection be served by a read replica.
 */
export interface ReplicaReadable {
  /**
   * The collection's position (`seq`) as this request read it from the
   * primary (its authorization). With it, a backend that has a read replica
   * (knex/read-replica.ts) may serve the read there, but only from a state
   * that includes this position: the answer is then what the primary held at
   * some moment between that read and the answer, as if the primary had
   * answered. Without it the read goes to the primary.
   */
  horizon?: number
}

/** How the reads offered to a read replica were served, since start (for operators, and the tests). */
export interface ReplicaReadCounts {
  /** Served by the replica (after waiting for it or not). */
  replica: number
  /** The replica had not applied the read's horizon within its wait: served by the primary. */
  primaryBehind: number
  /** The replica failed, or was recently found failing: served by the primary. */
  primaryFailing: number
}

/** A read replica, as seen from above storage (/ready, metrics). */
export interface ReadReplicaView {
  /** One trivial query on the replica: resolves if it answers. */
  ping(): Promise<void>
  readonly counts: ReplicaReadCounts
}

export interface FindRecordsParams extends ReplicaReadable {
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

export interface ChangesParams extends ReplicaReadable {
  /** Return changes with a position strictly greater than this. */
  since: number
  limit: number
}

/**
 * A record as the feed hands it out: every field of StoredRecord, in the same
 * order, but the data as the JSON text storage keeps (`JSON.stringify` of the
 * value, null for tombstones) rather than parsed. The feed is the bulk read of
 * sync: a transport that speaks JSON sends this text as it is, without parsing
 * and re-serialising every record (services/changes); `recordOfChange`
 * (./changes.ts) gives the StoredRecord.
 */
export interface StoredChange {
  collectionId: string
  id: string
  version: number
  /** The data's JSON text; `null` for tombstones. */
  dataJson: string | null
  deleted: boolean
  updatedAt: string
  updatedBy: string | null
  idempotencyKey?: string
  seq: number
}

export interface ChangesPage {
  /** Records and tombstones in change-position order. */
  changes: StoredChange[]
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
  /** The key epochs it carries wrapped keys for (NewInvitation.keys), ascending; [] when none. The keys themselves are not handed out. */
  keyEpochs: number[]
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
  /**
   * Collection keys wrapped for the invitee (an invitation by user id only),
   * kept with the invitation and added to the collection's keys when it is
   * accepted, those whose epoch still exists and whose keyVersion is still
   * the invitee's (rules/invitations.ts). null: none.
   */
  keys: InvitationKey[] | null
}

/** A collection key an invitation carries for its invitee. */
export interface InvitationKey {
  epoch: number
  keyVersion: number
  wrappedKey: JsonValue
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

// End-to-end encryption keys (KeysPort). The server stores and checks who
// may read them; it never sees a key: public keys are public, collection
// keys are wrapped (HPKE) for one user's public key, and the passphrase copy
// of an account secret is encrypted under a key the server never learns.

/** A user's account public key (X25519), replaced by compare-and-set on keyVersion. */
export interface StoredUserKey {
  userId: string
  /** base64url, as the client sent it. */
  publicKey: string
  /** 1 for the first key; each replacement adds 1. */
  keyVersion: number
  /** The account secret wrapped under a passphrase-derived key; null when none. Only its owner is shown it. */
  passphraseWrap: JsonValue | null
  createdAt: string
  updatedAt: string
}

/** A key epoch of an encrypted collection: 1, 2, 3, …; the highest is current. */
export interface StoredKeyEpoch {
  collectionId: string
  epoch: number
  createdBy: string
  createdAt: string
  /**
   * Current members with a public key who have no wrapped key for this epoch
   * made for their current keyVersion, sorted; filled for owners and admins
   * only ([] for other roles).
   */
  missing: string[]
}

/** A collection key of one epoch, wrapped for one member's public key (of `keyVersion`). */
export interface StoredCollectionKey {
  collectionId: string
  epoch: number
  userId: string
  keyVersion: number
  wrappedKey: JsonValue
  /** The manager who wrapped it (for keys from an invitation, the inviter). */
  wrappedBy: string
  createdAt: string
}

/** A wrapped key as a manager hands it in. */
export interface WrappedKeyInput {
  userId: string
  keyVersion: number
  wrappedKey: JsonValue
}

export type { Storage } from './port.js'

// The dashboard's views: an operator's counts, a collection's open batches,
// and an owner breaking someone else's lock.

/** Counts of what the database holds, for the operator view (StatsPort); never any record data. */
export interface StorageStats {
  users: number
  collections: number
  /** Live records (not tombstones), every collection. */
  records: number
  tombstones: number
  /** Total size of the stored data of live records: bytes of its JSON text, UTF-8. */
  bytes: number
  /** Batches open and not past their expiry at `now`. */
  openBatches: number
  /** Leases not past their expiry at `now`. */
  locks: number
}

/**
 * The database connections this process holds, at the moment asked (for
 * /metrics). `used + free` are the open connections; `pending` are the
 * calls waiting for one; `max` is the most the pool opens (on MongoDB, per
 * server of the deployment).
 */
export interface PoolStats {
  used: number
  free: number
  pending: number
  max: number
}

export interface ListOpenBatchesParams {
  /** Batches with at least one operation staged on this collection… */
  collectionId: string
  /** …of this user only, when given. */
  userId?: string
  /** Open and unexpired at this time. */
  now: string
  limit: number
}

/** An open batch touching a collection, with its user's e-mail; counts are of the whole batch. */
export interface OpenBatchSummary {
  id: string
  userId: string
  email: string
  operationCount: number
  bytes: number
  createdAt: string
  expiresAt: string
}

export interface BreakLockParams {
  collectionId: string
  /** The holder id to end… */
  holder: string
  /** …of this user only, when given (holder ids are unique per user, not per collection). */
  userId?: string
  /** Must be an owner of the collection, checked in the transaction ('forbidden'). */
  actorId: string
  now: string
}
