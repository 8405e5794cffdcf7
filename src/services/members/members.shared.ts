import type { Paginated } from '@feathersjs/feathers'
import { nestedService, type ClientApplication } from '../../client.js'
import type { Member, MemberAdd, MemberEvent, MemberPatch, MemberQuery, Role } from './members.schema.js'

export type { Member, MemberAdd, MemberEvent, MemberPatch, MemberQuery, Role }

export const memberPath = 'collections/:collectionId/members'
export const memberMethods = ['find', 'get', 'create', 'patch', 'remove'] as const

export const membersPath = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}/members`

/** The members of one collection, on a client. Ids are user ids. */
export interface MemberClientService {
  find(params?: { query?: MemberQuery }): Promise<Paginated<Member>>
  get(userId: string): Promise<Member>
  /** Owners and admins add a user by id. */
  create(data: MemberAdd): Promise<Member>
  /** Owners and admins change a role; only owners grant or take away `owner`. */
  patch(userId: string, data: MemberPatch): Promise<Member>
  /** Owners and admins remove a member; anyone may remove themselves (leave). The last owner cannot go. */
  remove(userId: string): Promise<Member>
}

export const membersClient = (client: ClientApplication, collectionId: string): MemberClientService =>
  nestedService<MemberClientService>(client, membersPath(collectionId), memberMethods)
