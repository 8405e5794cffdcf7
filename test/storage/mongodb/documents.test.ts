import { BSON } from 'mongodb'
import { describe, expect, it } from 'vitest'
import { databaseName } from '../../../src/storage/mongodb/mongo-backend.js'
import {
  batchFromDocument,
  batchToDocument,
  collectionFromDocument,
  collectionKeyFromDocument,
  collectionKeyToDocument,
  collectionToDocument,
  invitationFromDocument,
  lockFromDocument,
  lockToDocument,
  operationContent,
  operationFromDocument,
  recordFromDocument,
  recordToDocument,
  userKeyFromDocument,
  userKeyToDocument,
  type InvitationDocument,
  type OperationDocument
} from '../../../src/storage/mongodb/documents.js'
import { recordSort } from '../../../src/storage/mongodb/queries/records.js'
import { invitationKeysText } from '../../../src/storage/invitation-keys.js'
import type { StoredBatch, StoredCollection, StoredCollectionKey, StoredLock, StoredRecord, StoredUserKey } from '../../../src/storage/types.js'

/**
 * Document mapping (src/storage/mongodb/documents.ts), through real BSON: what
 * the driver would store and read back, without a server.
 */
const throughBson = <T extends object>(doc: T): T => BSON.deserialize(BSON.serialize(doc)) as T

const record = (extra: Partial<StoredRecord> = {}): StoredRecord => ({
  collectionId: 'notes',
  id: 'n1',
  version: 3,
  data: { title: 'Hello', $set: { 'a.b': 1 }, list: [1, 'two', null, { nested: true }] },
  deleted: false,
  updatedAt: '2026-01-01T00:00:01.000Z',
  updatedBy: 'user-1',
  seq: 7,
  ...extra
})

describe('MongoDB document mapping', () => {
  it('a record survives BSON unchanged, its data kept as the JSON text (keys with "$" and "." included)', () => {
    const stored = record()
    const doc = recordToDocument(stored)
    expect(doc.data).toBe(JSON.stringify(stored.data))
    expect(recordFromDocument(throughBson(doc))).toEqual(stored)
  })

  it('a version without an idempotency key stores none (not null) and reads back without one', () => {
    const doc = throughBson(recordToDocument(record()))
    expect('idempotencyKey' in doc).toBe(false)
    expect('idempotencyKey' in recordFromDocument(doc)).toBe(false)
    const keyed = record({ idempotencyKey: 'key-1' })
    expect(recordFromDocument(throughBson(recordToDocument(keyed)))).toEqual(keyed)
  })

  it('a tombstone keeps no data', () => {
    const tombstone = record({ deleted: true, data: null, updatedBy: null })
    const doc = throughBson(recordToDocument(tombstone))
    expect(doc.data).toBeNull()
    expect(recordFromDocument(doc)).toEqual(tombstone)
  })

  it('ciphertext-like text data stays byte for byte', () => {
    const stored = record({ data: 'v1.AAECAwQFBgcICQoLDA0ODw==.\u0000\uffff' })
    expect(recordFromDocument(throughBson(recordToDocument(stored)))).toEqual(stored)
  })

  it('a collection round-trips; its lock counter and take counter start at 0', () => {
    const collection: StoredCollection = { id: 'c1', name: null, ownerId: 'u1', epoch: 'abc', seq: 0, createdAt: 't1', updatedAt: 't1' }
    const doc = throughBson(collectionToDocument(collection))
    expect(doc).toMatchObject({ _id: 'c1', lockSeq: 0, takes: 0 })
    expect(collectionFromDocument(doc)).toEqual(collection)
  })

  it('a batch round-trips with its result as text, and reads as expired once open past its expiry', () => {
    const batch: StoredBatch = {
      id: 'b1',
      userId: 'u1',
      status: 'committed',
      operationCount: 2,
      bytes: 30,
      declaredOperations: null,
      declaredBytes: 100,
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T01:00:00.000Z',
      committedAt: '2026-01-01T00:10:00.000Z',
      result: { records: [record()], outcomes: ['updated'], positions: { notes: { seq: 7, epoch: 'e' } } }
    }
    const doc = throughBson(batchToDocument(batch))
    expect(typeof doc.result).toBe('string')
    expect(batchFromDocument(doc, '2026-01-01T02:00:00.000Z')).toEqual(batch)
    const open = throughBson(batchToDocument({ ...batch, status: 'open', result: null, committedAt: null }))
    expect(batchFromDocument(open, '2026-01-01T00:59:59.999Z').status).toBe('open')
    expect(batchFromDocument(open, '2026-01-01T01:00:00.000Z').status).toBe('expired')
  })

  it('staged operations round-trip: a put with its data as text, a delete with its base version', () => {
    const put = { op: 'put' as const, collectionId: 'notes', id: 'n1', data: { a: 1 }, baseVersion: null, bytes: 7 }
    const remove = { op: 'delete' as const, collectionId: 'notes', id: 'n2', baseVersion: 4, bytes: 0 }
    const stored = (operation: typeof put | typeof remove, ordinal: number): OperationDocument =>
      throughBson({ batchId: 'b1', collectionId: operation.collectionId, recordId: operation.id, ordinal, ...operationContent(operation) })
    expect(stored(put, 1).data).toBe('{"a":1}')
    expect(operationFromDocument(stored(put, 1))).toEqual({ op: 'put', collectionId: 'notes', id: 'n1', data: { a: 1 }, baseVersion: null })
    expect(operationFromDocument(stored(remove, 2))).toEqual({ op: 'delete', collectionId: 'notes', id: 'n2', baseVersion: 4 })
  })

  it('a lock round-trips', () => {
    const lock: StoredLock = { collectionId: 'c', userId: 'u', holder: 'phone', mode: 'exclusive', token: 12, acquiredAt: 't1', expiresAt: 't2' }
    expect(lockFromDocument(throughBson(lockToDocument(lock)))).toEqual(lock)
  })

  it('an invitation reads as expired once pending past its expiry, with the collection name given', () => {
    const doc: InvitationDocument = {
      _id: 'i1',
      collectionId: 'c',
      role: 'writer',
      inviteeUserId: null,
      inviteeEmail: 'x@example.com',
      invitedBy: 'u1',
      status: 'pending',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-02T00:00:00.000Z',
      answeredAt: null
    }
    expect(invitationFromDocument(throughBson(doc), 'Notes', '2026-01-01T12:00:00.000Z')).toMatchObject({ id: 'i1', collectionName: 'Notes', status: 'pending' })
    expect(invitationFromDocument(doc, null, '2026-01-02T00:00:00.000Z').status).toBe('expired')
    expect(invitationFromDocument({ ...doc, status: 'accepted' }, null, '2027-01-01T00:00:00.000Z').status).toBe('accepted')
    // Made before invitations carried keys (no field), or carrying none: no epochs.
    expect(invitationFromDocument(doc, null, '2026-01-01T12:00:00.000Z').keyEpochs).toEqual([])
    expect(invitationFromDocument({ ...doc, keys: null }, null, '2026-01-01T12:00:00.000Z').keyEpochs).toEqual([])
    const keys = invitationKeysText([
      { epoch: 3, keyVersion: 1, wrappedKey: { v: 1, enc: 'e', c: 'c' } },
      { epoch: 1, keyVersion: 1, wrappedKey: { v: 1, enc: 'e', c: 'c' } }
    ])
    expect(invitationFromDocument(throughBson({ ...doc, keys }), null, '2026-01-01T12:00:00.000Z').keyEpochs).toEqual([1, 3])
  })

  it('a user key round-trips, its passphrase copy as JSON text (or null)', () => {
    const key: StoredUserKey = {
      userId: 'u1',
      publicKey: 'p'.repeat(43),
      keyVersion: 2,
      passphraseWrap: { v: 1, kdf: 'argon2id', salt: 's', m: 19456, t: 2, p: 1, n: 'n', c: 'c' },
      createdAt: 't1',
      updatedAt: 't2'
    }
    expect(typeof userKeyToDocument(key).passphraseWrap).toBe('string')
    expect(userKeyFromDocument(throughBson(userKeyToDocument(key)))).toEqual(key)
    expect(userKeyFromDocument(throughBson(userKeyToDocument({ ...key, passphraseWrap: null })))).toEqual({ ...key, passphraseWrap: null })
  })

  it('a wrapped collection key round-trips, the wrapped key as JSON text', () => {
    const key: StoredCollectionKey = { collectionId: 'c', epoch: 2, userId: 'u', keyVersion: 1, wrappedKey: { v: 1, enc: 'e', c: 'c' }, wrappedBy: 'm', createdAt: 't' }
    expect(collectionKeyToDocument(key).wrappedKey).toBe(JSON.stringify(key.wrappedKey))
    expect(collectionKeyFromDocument(throughBson(collectionKeyToDocument(key)))).toEqual(key)
  })
})

describe('MongoDB record sort', () => {
  it('keeps the fields in the order asked, the first mention of a field winning, and ends with id', () => {
    expect(recordSort([['updatedBy', -1], ['version', 1], ['updatedBy', 1]])).toEqual([['updatedBy', -1], ['version', 1], ['id', 1]])
    expect(recordSort([])).toEqual([['id', 1]])
  })

  it('adds no id when id or seq (each unique in a collection) is already sorted on', () => {
    expect(recordSort([['id', -1]])).toEqual([['id', -1]])
    expect(recordSort([['version', 1], ['seq', -1]])).toEqual([['version', 1], ['seq', -1]])
  })
})

describe('MongoDB database name', () => {
  it('is the URL path, or "roost" when the URL names none', () => {
    expect(databaseName('mongodb://localhost:27017/notes?replicaSet=rs0')).toBe('notes')
    expect(databaseName('mongodb://a:1,b:2,c:3/app')).toBe('app')
    expect(databaseName('mongodb+srv://user:p%40ss@cluster0.example.net/sync?retryWrites=true')).toBe('sync')
    expect(databaseName('mongodb://localhost:27017/?replicaSet=rs0')).toBe('roost')
    expect(databaseName('mongodb://localhost:27017')).toBe('roost')
  })
})
