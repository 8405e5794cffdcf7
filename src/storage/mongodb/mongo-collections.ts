import type { Collection, Db } from 'mongodb'
import type {
  BatchDocument,
  CollectionDocument,
  InvitationDocument,
  KeyDocument,
  LockDocument,
  MemberDocument,
  OperationDocument,
  RecordDocument,
  SchemaStepDocument,
  UserDocument
} from './documents.js'

/** Roost's MongoDB collections, named as the SQL tables are. */
export interface MongoCollections {
  users: Collection<UserDocument>
  collections: Collection<CollectionDocument>
  records: Collection<RecordDocument>
  members: Collection<MemberDocument>
  invitations: Collection<InvitationDocument>
  locks: Collection<LockDocument>
  batches: Collection<BatchDocument>
  operations: Collection<OperationDocument>
  keys: Collection<KeyDocument>
  schema: Collection<SchemaStepDocument>
}

export const COLLECTION_NAMES = {
  users: 'users',
  collections: 'collections',
  records: 'records',
  members: 'members',
  invitations: 'invitations',
  locks: 'locks',
  batches: 'batches',
  operations: 'batch_operations',
  keys: 'idempotency_keys',
  schema: 'roost_migrations'
} as const satisfies Record<keyof MongoCollections, string>

export const collectionsOf = (db: Db): MongoCollections => ({
  users: db.collection(COLLECTION_NAMES.users),
  collections: db.collection(COLLECTION_NAMES.collections),
  records: db.collection(COLLECTION_NAMES.records),
  members: db.collection(COLLECTION_NAMES.members),
  invitations: db.collection(COLLECTION_NAMES.invitations),
  locks: db.collection(COLLECTION_NAMES.locks),
  batches: db.collection(COLLECTION_NAMES.batches),
  operations: db.collection(COLLECTION_NAMES.operations),
  keys: db.collection(COLLECTION_NAMES.keys),
  schema: db.collection(COLLECTION_NAMES.schema)
})
