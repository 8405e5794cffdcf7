import type { Paginated } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client.js'
import type { Invitation, InvitationAnswer, InvitationCreate, InvitationQuery } from './invitations.schema.js'

export type { Invitation, InvitationAnswer, InvitationCreate, InvitationQuery }

export const invitationPath = 'invitations'
export const invitationMethods = ['find', 'get', 'create', 'patch', 'remove'] as const

export const invitationClient = (client: ClientApplication) => {
  client.use(invitationPath, client.get('connection').service(invitationPath), {
    methods: [...invitationMethods],
    events: ['created', 'patched', 'removed']
  })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [invitationPath]: {
      /** Pending invitations to me by default; `collectionId` lists a collection's (owners and admins). */
      find(params?: { query?: InvitationQuery }): Promise<Paginated<Invitation>>
      get(id: string): Promise<Invitation>
      /** Owners and admins invite by e-mail or user id. */
      create(data: InvitationCreate): Promise<Invitation>
      /** The invitee accepts or declines. */
      patch(id: string, data: InvitationAnswer): Promise<Invitation>
      /** Owners and admins revoke a pending invitation. */
      remove(id: string): Promise<Invitation>
    }
  }
}
