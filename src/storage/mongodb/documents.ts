import { keyEpochsOf } from '../invitation-keys.js'
import { jsonText } from '../json-text.js'
import type {
  CommitResult,
  InvitationStatus,
  JsonValue,
  MemberRole,
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

/**
 * The documents Roost keeps in MongoDB, one MongoDB collection per SQL table
 * (migrations/*.ts), with the same fields in camelCase, and the mapping
 * between them and the storage types.
 *
 * `_id`: where SQL has a one-column primary key (users, collections,
 * invitations, batches) it is `_id`. Where SQL has a composite key (records,
 * members, locks, batch operations, idempotency keys) `_id` is MongoDB's own
 * ObjectId and the key is a unique index on the key fields (indexes.ts): the
 * key fields are needed as plain fields anyway (for the other indexes, sorts
 * and deleting by collection), an embedded `_id: { c, i }` would keep each of
 * them twice and match only with its fields in the same order, and this way
 * each document reads like its SQL row.
 *
 * Record data, staged data, stored responses and batch results are kept as
 * JSON text, as in SQL: byte for byte what was serialised, never looked
 * inside (it may be ciphertext), and free of BSON's rules on field names
 * (clients may send keys starting with "$" or containing ".").
 *
 * `takes` (users, collections, batches) is bumped by every transaction that
 * takes the document (tx/*.ts): a write that always changes the document, so
 * that two transactions taking it always conflict (an update that changes
 * nothing is not a write to MongoDB).
 */

export interface UserDocument {
  _id: string
  /** Lower-cased; unique. */
  email: string
  password: string
  createdAt: string
  takes: number
}

export interface CollectionDocument {
  _id: string
  name: string | null
  ownerId: string
  epoch: string
  /** Position of the collection's latest change. */
  seq: number
  /** Fencing-token counter of its locks. */
  lockSeq: number
  createdAt: string
  updatedAt: string
  takes: number
}

export interface RecordDocument {
  collectionId: string
  id: string
  version: number
  /** JSON text; null for tombstones. */
  data: string | null
  deleted: boolean
  updatedAt: string
  updatedBy: string | null
  /** Absent when the call that wrote this version had none. */
  idempotencyKey?: string
  seq: number
}

export interface MemberDocument {
  collectionId: string
  userId: string
  role: MemberRole
  createdAt: string
  updatedAt: string
}

export interface InvitationDocument {
  _id: string
  collectionId: string
  role: MemberRole
  inviteeUserId: string | null
  inviteeEmail: string | null
  invitedBy: string
  /** pending | accepted | declined | revoked ("expired" is pending past expiresAt). */
  status: Exclude<InvitationStatus, 'expired'>
  createdAt: string
  expiresAt: string
  answeredAt: string | null
  /** JSON text of the keys it carries (invitation-keys.ts); null or absent (older documents) when none. */
  keys?: string | null
}

/** A lease is stored as it is: its fields are already plain strings and numbers. */
export type LockDocument = StoredLock

export interface BatchDocument {
  _id: string
  userId: string
  /** open | committed | aborted | expired (set by purgeExpired); open past expiresAt reads as expired. */
  status: StoredBatch['status']
  operationCount: number
  bytes: number
  declaredOperations: number | null
  declaredBytes: number | null
  /** The commit's answer as JSON text, kept so that committing again returns it again. */
  result: string | null
  createdAt: string
  expiresAt: string
  committedAt: string | null
  takes: number
}

export interface OperationDocument {
  batchId: string
  collectionId: string
  recordId: string
  /** Staging order of the first time this record was staged; a re-sent operation keeps it. */
  ordinal: number
  op: 'put' | 'delete'
  /** JSON text of a put's data; null for a delete. */
  data: string | null
  /** null: the record must not exist yet. */
  baseVersion: number | null
  bytes: number
}

export interface KeyDocument {
  userId: string
  key: string
  fingerprint: string
  /** JSON text; null while the key is pending. */
  response: string | null
  createdAt: string
  expiresAt: string
  /** The run holding a pending key and its lease; null or absent (older documents) once answered. */
  claimToken?: string | null
  pendingUntil?: string | null
}

/** A user's account public key; `_id` is the user id. */
export interface UserKeyDocument {
  _id: string
  publicKey: string
  keyVersion: number
  /** JSON text of the passphrase copy; null when none. */
  passphraseWrap: string | null
  createdAt: string
  updatedAt: string
}

/** Unique on (collectionId, epoch) (indexes.ts). */
export interface KeyEpochDocument {
  collectionId: string
  epoch: number
  createdBy: string
  createdAt: string
}

/** Unique on (collectionId, epoch, userId) (indexes.ts). */
export interface CollectionKeyDocument {
  collectionId: string
  epoch: number
  userId: string
  keyVersion: number
  /** JSON text, never looked inside. */
  wrappedKey: string
  wrappedBy: string
  createdAt: string
}

/** One applied schema step (schema-version.ts). */
export interface SchemaStepDocument {
  _id: number
  name: string
  appliedAt: string
}

// Mapping. Documents read back carry an `_id` the storage types do not have:
// each function below picks the fields it maps.

export const userFromDocument = (doc: UserDocument): StoredUser => ({
  id: doc._id,
  email: doc.email,
  password: doc.password,
  createdAt: doc.createdAt
})

export const collectionFromDocument = (doc: CollectionDocument): StoredCollection => ({
  id: doc._id,
  name: doc.name,
  ownerId: doc.ownerId,
  epoch: doc.epoch,
  seq: doc.seq,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt
})

export const collectionToDocument = (collection: StoredCollection): CollectionDocument => ({
  _id: collection.id,
  name: collection.name,
  ownerId: collection.ownerId,
  epoch: collection.epoch,
  seq: collection.seq,
  lockSeq: 0,
  createdAt: collection.createdAt,
  updatedAt: collection.updatedAt,
  takes: 0
})

export const recordFromDocument = (doc: RecordDocument): StoredRecord => ({
  collectionId: doc.collectionId,
  id: doc.id,
  version: doc.version,
  data: doc.data === null ? null : (JSON.parse(doc.data) as JsonValue),
  deleted: doc.deleted,
  updatedAt: doc.updatedAt,
  updatedBy: doc.updatedBy,
  ...(doc.idempotencyKey === undefined || doc.idempotencyKey === null ? {} : { idempotencyKey: doc.idempotencyKey }),
  seq: doc.seq
})

/** As recordFromDocument, the data left as the stored JSON text: the feed's form (StoredChange). */
export const changeFromDocument = (doc: RecordDocument): StoredChange => ({
  collectionId: doc.collectionId,
  id: doc.id,
  version: doc.version,
  dataJson: doc.data,
  deleted: doc.deleted,
  updatedAt: doc.updatedAt,
  updatedBy: doc.updatedBy,
  ...(doc.idempotencyKey === undefined || doc.idempotencyKey === null ? {} : { idempotencyKey: doc.idempotencyKey }),
  seq: doc.seq
})

export const recordToDocument = (record: StoredRecord): RecordDocument => ({
  collectionId: record.collectionId,
  id: record.id,
  version: record.version,
  data: record.deleted ? null : jsonText(record.data),
  deleted: record.deleted,
  updatedAt: record.updatedAt,
  updatedBy: record.updatedBy,
  // Left out rather than null: the driver would store an undefined field as null.
  ...(record.idempotencyKey === undefined ? {} : { idempotencyKey: record.idempotencyKey }),
  seq: record.seq
})

export const memberFromDocument = (doc: MemberDocument, email: string): StoredMember => ({
  collectionId: doc.collectionId,
  userId: doc.userId,
  email,
  role: doc.role,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt
})

/** `collectionName` is the collection's name now (null if it is gone). */
export const invitationFromDocument = (doc: InvitationDocument, collectionName: string | null, now: string): StoredInvitation => ({
  id: doc._id,
  collectionId: doc.collectionId,
  collectionName,
  role: doc.role,
  inviteeUserId: doc.inviteeUserId,
  inviteeEmail: doc.inviteeEmail,
  invitedBy: doc.invitedBy,
  status: doc.status === 'pending' && doc.expiresAt <= now ? 'expired' : doc.status,
  createdAt: doc.createdAt,
  expiresAt: doc.expiresAt,
  answeredAt: doc.answeredAt,
  keyEpochs: keyEpochsOf(doc.keys)
})

export const lockFromDocument = (doc: LockDocument): StoredLock => ({
  collectionId: doc.collectionId,
  userId: doc.userId,
  holder: doc.holder,
  mode: doc.mode,
  token: doc.token,
  acquiredAt: doc.acquiredAt,
  expiresAt: doc.expiresAt
})

export const lockToDocument = (lock: StoredLock): LockDocument => ({
  collectionId: lock.collectionId,
  userId: lock.userId,
  holder: lock.holder,
  mode: lock.mode,
  token: lock.token,
  acquiredAt: lock.acquiredAt,
  expiresAt: lock.expiresAt
})

export const batchFromDocument = (doc: BatchDocument, now: string): StoredBatch => ({
  id: doc._id,
  userId: doc.userId,
  status: doc.status === 'open' && doc.expiresAt <= now ? 'expired' : doc.status,
  operationCount: doc.operationCount,
  bytes: doc.bytes,
  declaredOperations: doc.declaredOperations,
  declaredBytes: doc.declaredBytes,
  createdAt: doc.createdAt,
  expiresAt: doc.expiresAt,
  committedAt: doc.committedAt,
  result: doc.result === null ? null : (JSON.parse(doc.result) as CommitResult)
})

export const batchToDocument = (batch: StoredBatch): BatchDocument => ({
  _id: batch.id,
  userId: batch.userId,
  status: batch.status,
  operationCount: batch.operationCount,
  bytes: batch.bytes,
  declaredOperations: batch.declaredOperations,
  declaredBytes: batch.declaredBytes,
  result: batch.result === null ? null : JSON.stringify(batch.result),
  createdAt: batch.createdAt,
  expiresAt: batch.expiresAt,
  committedAt: batch.committedAt,
  takes: 0
})

export const operationFromDocument = (doc: OperationDocument): StagedOperation =>
  doc.op === 'delete'
    ? { op: 'delete', collectionId: doc.collectionId, id: doc.recordId, baseVersion: doc.baseVersion ?? 0 }
    : {
        op: 'put',
        collectionId: doc.collectionId,
        id: doc.recordId,
        data: JSON.parse(doc.data ?? 'null') as JsonValue,
        baseVersion: doc.baseVersion
      }

/** The fields of a staged operation a re-sent one replaces (its batch, record and ordinal stay). */
export const operationContent = (operation: StagedOperation & { bytes: number }): Pick<OperationDocument, 'op' | 'data' | 'baseVersion' | 'bytes'> => ({
  op: operation.op,
  data: operation.op === 'put' ? jsonText(operation.data) : null,
  baseVersion: operation.baseVersion,
  bytes: operation.bytes
})

export const userKeyFromDocument = (doc: UserKeyDocument): StoredUserKey => ({
  userId: doc._id,
  publicKey: doc.publicKey,
  keyVersion: doc.keyVersion,
  passphraseWrap: doc.passphraseWrap === null ? null : (JSON.parse(doc.passphraseWrap) as JsonValue),
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt
})

export const userKeyToDocument = (key: StoredUserKey): UserKeyDocument => ({
  _id: key.userId,
  publicKey: key.publicKey,
  keyVersion: key.keyVersion,
  passphraseWrap: key.passphraseWrap === null ? null : JSON.stringify(key.passphraseWrap),
  createdAt: key.createdAt,
  updatedAt: key.updatedAt
})

export const keyEpochFromDocument = (doc: KeyEpochDocument): KeyEpochRow => ({
  collectionId: doc.collectionId,
  epoch: doc.epoch,
  createdBy: doc.createdBy,
  createdAt: doc.createdAt
})

export const collectionKeyFromDocument = (doc: CollectionKeyDocument): StoredCollectionKey => ({
  collectionId: doc.collectionId,
  epoch: doc.epoch,
  userId: doc.userId,
  keyVersion: doc.keyVersion,
  wrappedKey: JSON.parse(doc.wrappedKey) as JsonValue,
  wrappedBy: doc.wrappedBy,
  createdAt: doc.createdAt
})

export const collectionKeyToDocument = (key: StoredCollectionKey): CollectionKeyDocument => ({
  collectionId: key.collectionId,
  epoch: key.epoch,
  userId: key.userId,
  keyVersion: key.keyVersion,
  wrappedKey: JSON.stringify(key.wrappedKey),
  wrappedBy: key.wrappedBy,
  createdAt: key.createdAt
})
