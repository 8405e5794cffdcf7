import type { StoredKey } from '../backend.js'
import { keyEpochsOf } from '../invitation-keys.js'
import { jsonText } from '../json-text.js'
import type {
  CommitResult,
  InvitationStatus,
  JsonValue,
  LockMode,
  MemberRole,
  SortField,
  StagedOperation,
  StoredBatch,
  StoredChange,
  StoredCollection,
  StoredCollectionKey,
  StoredInvitation,
  StoredLock,
  StoredMember,
  StoredRecord,
  StoredUser,
  StoredUserKey
} from '../types.js'
import type { KeyEpochRow } from '../backend.js'

/** Column names and the mapping between rows and storage types. */

export interface UserRow {
  id: string
  email: string
  password: string
  created_at: string
}

export interface CollectionRow {
  id: string
  name: string | null
  owner_id: string
  epoch: string
  seq: number | string // bigint: pg returns a string
  /** Fencing-token counter of the collection's locks. */
  lock_seq: number | string
  created_at: string
  updated_at: string
}

export interface RecordRow {
  collection_id: string
  id: string
  version: number
  data: string | null
  deleted: boolean | number // SQLite has no booleans
  updated_at: string
  updated_by: string | null
  /** Of the call that wrote this version; null when it had none. */
  idempotency_key: string | null
  seq: number | string
}

export const userFromRow = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email,
  password: row.password,
  createdAt: row.created_at
})

export const collectionFromRow = (row: CollectionRow): StoredCollection => ({
  id: row.id,
  name: row.name,
  ownerId: row.owner_id,
  epoch: row.epoch,
  seq: Number(row.seq),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

export const recordFromRow = (row: RecordRow): StoredRecord => ({
  collectionId: row.collection_id,
  id: row.id,
  version: Number(row.version),
  data: row.data === null ? null : (JSON.parse(row.data) as JsonValue),
  deleted: Boolean(row.deleted),
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
  // Absent rather than null, so that versions written without a key look as they did before keys were kept.
  ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
  seq: Number(row.seq)
})

/** A row of the feed (sql/records.ts SELECT_CHANGES), its columns in that order; the collection is the one asked for. */
export type ChangeTuple = readonly [
  id: string,
  version: number,
  data: string | null,
  deleted: boolean | number,
  updatedAt: string,
  updatedBy: string | null,
  idempotencyKey: string | null,
  seq: number | string
]

/** As recordFromRow, the data left as the stored JSON text: the feed's form (StoredChange). */
export const changeFromTuple = (collectionId: string, row: ChangeTuple): StoredChange => ({
  collectionId,
  id: row[0],
  version: Number(row[1]),
  dataJson: row[2],
  deleted: Boolean(row[3]),
  updatedAt: row[4],
  updatedBy: row[5],
  ...(row[6] === null ? {} : { idempotencyKey: row[6] }),
  seq: Number(row[7])
})

// `data` is kept as JSON text, byte for byte what the client sent once
// serialised: the server never queries inside it (it may be ciphertext).
export const recordToRow = (record: StoredRecord): RecordRow => ({
  collection_id: record.collectionId,
  id: record.id,
  version: record.version,
  data: record.deleted ? null : jsonText(record.data),
  deleted: record.deleted,
  updated_at: record.updatedAt,
  updated_by: record.updatedBy,
  idempotency_key: record.idempotencyKey ?? null,
  seq: record.seq
})

/** The columns of `records`, in the order raw inserts list them. */
export const RECORD_COLUMNS = ['collection_id', 'id', 'version', 'data', 'deleted', 'updated_at', 'updated_by', 'idempotency_key', 'seq'] as const satisfies ReadonlyArray<keyof RecordRow>

export const SORT_COLUMNS: Record<SortField, string> = {
  id: 'id',
  version: 'version',
  updatedAt: 'updated_at',
  updatedBy: 'updated_by',
  seq: 'seq'
}

export interface KeyRow {
  user_id: string
  key: string
  fingerprint: string
  /** JSON text; null while the key is pending. */
  response: string | null
  created_at: string
  expires_at: string
  claim_token: string | null
  pending_until: string | null
}

export const keyFromRow = (row: KeyRow): StoredKey => ({
  fingerprint: row.fingerprint,
  response: row.response === null ? null : (JSON.parse(row.response) as JsonValue),
  expiresAt: row.expires_at,
  ...(row.claim_token === null || row.pending_until === null ? {} : { claim: { token: row.claim_token, pendingUntil: row.pending_until } })
})

export interface LockRow {
  collection_id: string
  user_id: string
  holder: string
  mode: string
  token: number | string // bigint: pg returns a string
  acquired_at: string
  expires_at: string
}

export const lockFromRow = (row: LockRow): StoredLock => ({
  collectionId: row.collection_id,
  userId: row.user_id,
  holder: row.holder,
  mode: row.mode as LockMode,
  token: Number(row.token),
  acquiredAt: row.acquired_at,
  expiresAt: row.expires_at
})

export interface MemberRow {
  collection_id: string
  user_id: string
  role: string
  created_at: string
  updated_at: string
}

export interface MemberWithEmailRow extends MemberRow {
  email: string
}

export const memberFromRow = (row: MemberWithEmailRow): StoredMember => ({
  collectionId: row.collection_id,
  userId: row.user_id,
  email: row.email,
  role: row.role as MemberRole,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

export interface InvitationRow {
  id: string
  collection_id: string
  role: string
  invitee_user_id: string | null
  invitee_email: string | null
  invited_by: string
  status: string
  created_at: string
  expires_at: string
  answered_at: string | null
  /** JSON text of the keys it carries (invitation-keys.ts); null when none. */
  keys: string | null
  /** Read with the invitation (sql/invitations.ts), not a column of it. */
  collection_name?: string | null
}

export const invitationFromRow = (row: InvitationRow, now: string): StoredInvitation => ({
  id: row.id,
  collectionId: row.collection_id,
  collectionName: row.collection_name ?? null,
  role: row.role as MemberRole,
  inviteeUserId: row.invitee_user_id,
  inviteeEmail: row.invitee_email,
  invitedBy: row.invited_by,
  status: row.status === 'pending' && row.expires_at <= now ? 'expired' : (row.status as InvitationStatus),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  answeredAt: row.answered_at,
  keyEpochs: keyEpochsOf(row.keys)
})

export interface BatchRow {
  id: string
  user_id: string
  status: string
  operation_count: number | string
  bytes: number | string
  declared_operations: number | null
  declared_bytes: number | string | null
  result: string | null
  created_at: string
  expires_at: string
  committed_at: string | null
}

/** Stored 'open' past its expiry reads as 'expired' (the sweeper sets it later). */
export function batchFromRow(row: BatchRow, now: string): StoredBatch {
  const status = row.status === 'open' && row.expires_at <= now ? 'expired' : (row.status as StoredBatch['status'])
  return {
    id: row.id,
    userId: row.user_id,
    status,
    operationCount: Number(row.operation_count),
    bytes: Number(row.bytes),
    declaredOperations: row.declared_operations === null ? null : Number(row.declared_operations),
    declaredBytes: row.declared_bytes === null ? null : Number(row.declared_bytes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    committedAt: row.committed_at,
    result: row.result === null ? null : (JSON.parse(row.result) as CommitResult)
  }
}

export interface OperationRow {
  batch_id: string
  collection_id: string
  record_id: string
  ordinal: number
  op: string
  data: string | null
  base_version: number | null
  bytes: number
}

/** The columns of `batch_operations`, in the order raw inserts list them. */
export const OPERATION_COLUMNS = ['batch_id', 'collection_id', 'record_id', 'ordinal', 'op', 'data', 'base_version', 'bytes'] as const satisfies ReadonlyArray<keyof OperationRow>

export const operationFromRow = (row: OperationRow): StagedOperation =>
  row.op === 'delete'
    ? { op: 'delete', collectionId: row.collection_id, id: row.record_id, baseVersion: Number(row.base_version) }
    : {
        op: 'put',
        collectionId: row.collection_id,
        id: row.record_id,
        data: JSON.parse(row.data ?? 'null') as JsonValue,
        baseVersion: row.base_version === null ? null : Number(row.base_version)
      }

// End-to-end encryption keys: wrapped values and the passphrase copy are JSON text, never looked inside.

export interface UserKeyRow {
  user_id: string
  public_key: string
  key_version: number | string
  passphrase_wrap: string | null
  created_at: string
  updated_at: string
}

export const userKeyFromRow = (row: UserKeyRow): StoredUserKey => ({
  userId: row.user_id,
  publicKey: row.public_key,
  keyVersion: Number(row.key_version),
  passphraseWrap: row.passphrase_wrap === null ? null : (JSON.parse(row.passphrase_wrap) as JsonValue),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

export interface KeyEpochDbRow {
  collection_id: string
  epoch: number | string
  created_by: string
  created_at: string
}

export const keyEpochFromRow = (row: KeyEpochDbRow): KeyEpochRow => ({
  collectionId: row.collection_id,
  epoch: Number(row.epoch),
  createdBy: row.created_by,
  createdAt: row.created_at
})

export interface CollectionKeyRow {
  collection_id: string
  epoch: number | string
  user_id: string
  key_version: number | string
  wrapped_key: string
  wrapped_by: string
  created_at: string
}

/** The columns of `collection_keys`, in the order raw inserts list them. */
export const COLLECTION_KEY_COLUMNS = ['collection_id', 'epoch', 'user_id', 'key_version', 'wrapped_key', 'wrapped_by', 'created_at'] as const satisfies ReadonlyArray<
  keyof CollectionKeyRow
>

export const collectionKeyFromRow = (row: CollectionKeyRow): StoredCollectionKey => ({
  collectionId: row.collection_id,
  epoch: Number(row.epoch),
  userId: row.user_id,
  keyVersion: Number(row.key_version),
  wrappedKey: JSON.parse(row.wrapped_key) as JsonValue,
  wrappedBy: row.wrapped_by,
  createdAt: row.created_at
})

/** A row's values in COLLECTION_KEY_COLUMNS order. */
export const collectionKeyValues = (key: StoredCollectionKey): Array<string | number> => [
  key.collectionId,
  key.epoch,
  key.userId,
  key.keyVersion,
  JSON.stringify(key.wrappedKey),
  key.wrappedBy,
  key.createdAt
]
