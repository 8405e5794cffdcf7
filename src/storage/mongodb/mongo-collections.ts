import type { Collection, Db } from 'mongodb'
import type {
  BatchDocument,
  CollectionDocument,
  CollectionKeyDocument,
  InvitationDocument,
  KeyDocument,
  KeyEpochDocument,
  LockDocument,
  MemberDocument,
  OperationDocument,
  RecordDocument,
  SchemaStepDocument,
  UserDocument,
  UserKeyDocument
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
  userKeys: Collection<UserKeyDocument>
  keyEpochs: Collection<KeyEpochDocument>
  collectionKeys: Collection<CollectionKeyDocument>
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
  userKeys: 'user_keys',
  keyEpochs: 'key_epochs',
  collectionKeys: 'collection_keys',
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
  userKeys: db.collection(COLLECTION_NAMES.userKeys),
  keyEpochs: db.collection(COLLECTION_NAMES.keyEpochs),
  collectionKeys: db.collection(COLLECTION_NAMES.collectionKeys),
  schema: db.collection(COLLECTION_NAMES.schema)
})
