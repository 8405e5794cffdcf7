import type { Filter } from 'mongodb'
import type { ListInvitationsParams, MemberRole, Page, StoredInvitation, StoredMember } from '../../types.js'
import { invitationFromDocument, memberFromDocument, type InvitationDocument, type MemberDocument } from '../documents.js'
import type { MongoCollections } from '../mongo-collections.js'

/** Members with their users' e-mails, as SQL joins them in; a member whose user is gone is left out, as a join would. */
async function withEmails(c: MongoCollections, members: MemberDocument[]): Promise<StoredMember[]> {
  const users = await c.users.find({ _id: { $in: members.map((member) => member.userId) } }, { projection: { email: 1 } }).toArray()
  const emails = new Map(users.map((user) => [user._id, user.email]))
  return members.flatMap((member) => {
    const email = emails.get(member.userId)
    return email === undefined ? [] : [memberFromDocument(member, email)]
  })
}

export async function listMembers(c: MongoCollections, collectionId: string, { limit, skip }: { limit: number; skip: number }): Promise<Page<StoredMember>> {
  const total = await c.members.countDocuments({ collectionId })
  if (limit === 0) return { total, data: [] }
  const members = await c.members.find({ collectionId }, { sort: { userId: 1 }, skip, limit }).toArray()
  return { total, data: await withEmails(c, members) }
}

export async function listMemberRoles(c: MongoCollections, collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>> {
  const members = await c.members.find({ collectionId }, { sort: { userId: 1 } }).toArray()
  return members.map((member) => ({ userId: member.userId, role: member.role }))
}

export async function getMember(c: MongoCollections, collectionId: string, userId: string): Promise<StoredMember | undefined> {
  const member = await c.members.findOne({ collectionId, userId })
  if (member === null) return undefined
  const [stored] = await withEmails(c, [member])
  return stored
}

/** Invitations with their collection's name now, which an invitee may not otherwise see before accepting. */
async function withCollectionNames(c: MongoCollections, docs: InvitationDocument[], now: string): Promise<StoredInvitation[]> {
  const collections = await c.collections.find({ _id: { $in: [...new Set(docs.map((doc) => doc.collectionId))] } }, { projection: { name: 1 } }).toArray()
  const names = new Map(collections.map((collection) => [collection._id, collection.name]))
  return docs.map((doc) => invitationFromDocument(doc, names.get(doc.collectionId) ?? null, now))
}

export async function getInvitation(c: MongoCollections, id: string, now: string): Promise<StoredInvitation | undefined> {
  const doc = await c.invitations.findOne({ _id: id })
  if (doc === null) return undefined
  const [invitation] = await withCollectionNames(c, [doc], now)
  return invitation
}

/** Newest first, then by id; 'pending' and 'expired' told apart by `now`. */
export async function listInvitations(c: MongoCollections, { collectionId, invitee, status, now, limit, skip }: ListInvitationsParams): Promise<Page<StoredInvitation>> {
  const filter: Filter<InvitationDocument> = {}
  if (collectionId !== undefined) filter.collectionId = collectionId
  if (invitee !== undefined) filter.$or = [{ inviteeUserId: invitee.userId }, { inviteeEmail: invitee.email }]
  if (status === 'pending') Object.assign(filter, { status: 'pending', expiresAt: { $gt: now } })
  else if (status === 'expired') Object.assign(filter, { status: 'pending', expiresAt: { $lte: now } })
  else if (status !== undefined) filter.status = status
  const total = await c.invitations.countDocuments(filter)
  if (limit === 0) return { total, data: [] }
  const docs = await c.invitations.find(filter, { sort: { createdAt: -1, _id: 1 }, skip, limit }).toArray()
  return { total, data: await withCollectionNames(c, docs, now) }
}
