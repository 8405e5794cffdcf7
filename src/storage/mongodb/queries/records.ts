import type { Filter, Sort } from 'mongodb'
import type { ChangesPage, ChangesParams, CollectionWithRole, FindRecordsParams, ListCollectionsParams, MemberRole, Page, StoredCollection, StoredRecord, StoredUser } from '../../types.js'
import { changeFromDocument, collectionFromDocument, recordFromDocument, userFromDocument, type RecordDocument } from '../documents.js'
import type { MongoCollections } from '../mongo-collections.js'

/**
 * Reads of committed state, each on its own, outside transactions. Strings
 * compare by code point: Roost's collections are created without a
 * collation (indexes.ts), so MongoDB compares strings by their UTF-8 bytes,
 * which is code point order, as SQLite and PostgreSQL's "C" collation do.
 */

export async function getUser(c: MongoCollections, id: string): Promise<StoredUser | undefined> {
  const doc = await c.users.findOne({ _id: id })
  return doc === null ? undefined : userFromDocument(doc)
}

export async function findUserByEmail(c: MongoCollections, email: string): Promise<StoredUser | undefined> {
  const doc = await c.users.findOne({ email })
  return doc === null ? undefined : userFromDocument(doc)
}

export async function getCollection(c: MongoCollections, id: string): Promise<StoredCollection | undefined> {
  const doc = await c.collections.findOne({ _id: id })
  return doc === null ? undefined : collectionFromDocument(doc)
}

export async function getCollectionAccess(
  c: MongoCollections,
  collectionId: string,
  userId: string
): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined> {
  const doc = await c.collections.findOne({ _id: collectionId })
  if (doc === null) return undefined
  const member = await c.members.findOne({ collectionId, userId })
  return { collection: collectionFromDocument(doc), role: member?.role }
}

/** The user's memberships in collection id order, each with its collection. */
export async function listCollections(c: MongoCollections, { memberId, limit, skip }: ListCollectionsParams): Promise<Page<CollectionWithRole>> {
  const total = await c.members.countDocuments({ userId: memberId })
  // limit 0 means "no limit" to MongoDB; to Roost it means an empty page.
  if (limit === 0) return { total, data: [] }
  const members = await c.members.find({ userId: memberId }, { sort: { collectionId: 1 }, skip, limit }).toArray()
  const docs = await c.collections.find({ _id: { $in: members.map((member) => member.collectionId) } }).toArray()
  const byId = new Map(docs.map((doc) => [doc._id, doc]))
  // A collection deleted between the two reads is left out, as a join would.
  const data = members.flatMap((member) => {
    const doc = byId.get(member.collectionId)
    return doc === undefined ? [] : [{ ...collectionFromDocument(doc), role: member.role }]
  })
  return { total, data }
}

export async function getRecord(c: MongoCollections, collectionId: string, id: string): Promise<StoredRecord | undefined> {
  const doc = await c.records.findOne({ collectionId, id })
  return doc === null ? undefined : recordFromDocument(doc)
}

/**
 * Sorted as SQL sorts: the fields asked for, in order (the first mention of
 * a field wins, as in ORDER BY); a null updatedBy before every user id going
 * up and after them going down (MongoDB orders null below strings); then by
 * id when neither id nor seq was asked for, so that pages neither repeat nor
 * drop records.
 */
export async function findRecords(c: MongoCollections, collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
  const filter: Filter<RecordDocument> = { collectionId, deleted: params.deleted }
  if (params.ids !== undefined) filter.id = { $in: params.ids }
  if (params.updatedBy !== undefined) filter.updatedBy = params.updatedBy
  const total = await c.records.countDocuments(filter)
  if (params.limit === 0) return { total, data: [] }
  const docs = await c.records.find(filter, { sort: recordSort(params.sort), skip: params.skip, limit: params.limit }).toArray()
  return { total, data: docs.map(recordFromDocument) }
}

export function recordSort(sort: FindRecordsParams['sort']): Sort {
  // The storage field names are the record documents' field names.
  const order: Array<[string, 1 | -1]> = []
  for (const [field, direction] of sort) {
    if (!order.some(([seen]) => seen === field)) order.push([field, direction])
  }
  if (!order.some(([field]) => field === 'id' || field === 'seq')) order.push(['id', 1])
  return order
}

/**
 * One point-in-time read (read concern "snapshot", MongoDB 5.0+, kept for
 * the whole cursor): a change with a position below one it returns cannot be
 * missing from it, because that change committed before the later one began
 * (tx/collections.ts, PROTOCOL.md "Why the feed has no gaps").
 */
export async function changesSince(c: MongoCollections, collectionId: string, { since, limit }: ChangesParams): Promise<ChangesPage> {
  const docs = await c.records
    .find({ collectionId, seq: { $gt: since } }, { sort: { seq: 1 }, limit: limit + 1, readConcern: { level: 'snapshot' } })
    .toArray()
  return { changes: docs.slice(0, limit).map(changeFromDocument), more: docs.length > limit }
}
