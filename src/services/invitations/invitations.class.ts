import { randomUUID } from 'node:crypto'
import { BadRequest, Conflict, Forbidden, NotFound } from '@feathersjs/errors'
import type { Id, Paginated, Params } from '@feathersjs/feathers'
import { allows, authorizeCollection, mayManageMember, requireUser as user } from '../../access.js'
import { isoAfter, nowIso } from '../../clock.js'
import type { Application, AuthenticatedUser } from '../../declarations.js'
import { pageOf } from '../../paging.js'
import type { StoredInvitation } from '../../storage/types.js'
import { normaliseEmail } from '../users/users.class.js'
import type { Invitation, InvitationAnswer, InvitationCreate, InvitationQuery } from './invitations.schema.js'

export type InvitationParams = Params<InvitationQuery>

export const toInvitation = (invitation: StoredInvitation): Invitation => ({ ...invitation, keyEpochs: [...invitation.keyEpochs] })

/** One key per epoch: the invitee gets one wrapped key of each. */
function requireDistinctEpochs(keys: Array<{ epoch: number }>): void {
  const seen = new Set<number>()
  for (const [index, { epoch }] of keys.entries()) {
    if (seen.has(epoch)) throw new BadRequest(`"data.keys.${index}.epoch": epoch ${epoch} has a key earlier in "data.keys"; one key per epoch`)
    seen.add(epoch)
  }
}

/** Whether an invitation is addressed to this user (by id, or by their e-mail address). */
export const isInvitee = (invitation: StoredInvitation, who: Pick<AuthenticatedUser, 'id' | 'email'>): boolean =>
  invitation.inviteeUserId === who.id || (invitation.inviteeUserId === null && invitation.inviteeEmail === normaliseEmail(who.email))

/**
 * Invitations to collections (/invitations). Owners and admins invite by
 * e-mail or user id with a role; the invitee sees what is addressed to them
 * when signed in, and accepts or declines; a manager revokes; it expires.
 * Anyone else gets 404 for an invitation, as for a collection. Storage
 * errors (409/410 closed, 404…) become Feathers errors in the app's one
 * mapping (app.ts).
 */
export class InvitationService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: InvitationParams): Promise<Paginated<Invitation>> {
    const me = user(params)
    const query = params.query ?? {}
    const { limit, skip } = pageOf(this.app, query)
    const now = nowIso(this.app)
    if (query.collectionId !== undefined) await authorizeCollection(this.storage, me, query.collectionId, 'manage')
    const page = await this.storage.listInvitations({
      collectionId: query.collectionId,
      invitee: query.collectionId === undefined ? { userId: me.id, email: normaliseEmail(me.email) } : undefined,
      // An invitee's inbox is what they can still answer, unless they ask for more.
      status: query.status ?? (query.collectionId === undefined ? 'pending' : undefined),
      now,
      limit,
      skip
    })
    return { total: page.total, limit, skip, data: page.data.map(toInvitation) }
  }

  async get(id: Id, params: InvitationParams): Promise<Invitation> {
    const { invitation } = await this.visible(String(id), user(params))
    return toInvitation(invitation)
  }

  async create(data: InvitationCreate, params: InvitationParams): Promise<Invitation> {
    const me = user(params)
    if ((data.email === undefined) === (data.userId === undefined)) {
      throw new BadRequest('An invitation names exactly one of "email" and "userId"')
    }
    if (data.keys !== undefined && data.userId === undefined) {
      throw new BadRequest('"data.keys" needs "userId": keys are wrapped for a known user\'s public key, which an invitation by "email" has no way to name')
    }
    requireDistinctEpochs(data.keys ?? [])
    const { invitationTtlSeconds, maxInvitationTtlSeconds } = this.app.get('sharing')
    const ttl = data.ttlSeconds ?? invitationTtlSeconds
    if (ttl > maxInvitationTtlSeconds) {
      throw new BadRequest(`"data.ttlSeconds" is ${ttl}; the limit is ${maxInvitationTtlSeconds} (sharing.maxInvitationTtlSeconds)`)
    }
    const collection = await authorizeCollection(this.storage, me, data.collectionId, 'manage')
    if (!mayManageMember(collection.role, undefined, data.role)) throw new Forbidden('Only an owner can invite an owner', { role: collection.role, needs: 'owner' })
    const email = data.email === undefined ? null : normaliseEmail(data.email)
    // Someone already in needs a role change, not an invitation. (Managers see the members' addresses anyway.)
    const existing = data.userId ?? (email === null ? undefined : (await this.storage.findUserByEmail(email))?.id)
    if (existing !== undefined && (await this.storage.getMember(collection.id, existing)) !== undefined) {
      throw new Conflict('This user is already a member: change their role instead')
    }
    const invitation = await this.storage
      .createInvitation(
        {
          id: randomUUID(),
          collectionId: collection.id,
          role: data.role,
          inviteeUserId: data.userId ?? null,
          inviteeEmail: email,
          invitedBy: me.id,
          expiresAt: isoAfter(this.app, ttl),
          keys: data.keys === undefined || data.keys.length === 0 ? null : data.keys
        },
        nowIso(this.app),
        { maxPendingPerCollection: this.app.get('quotas').pendingInvitationsPerCollection }
      )
      
    return toInvitation(invitation)
  }

  /** Accept or decline: the invitee only. */
  async patch(id: Id, data: InvitationAnswer, params: InvitationParams): Promise<Invitation> {
    const me = user(params)
    const { invitation, asInvitee } = await this.visible(String(id), me)
    if (!asInvitee) throw new Forbidden('Only the invitee answers an invitation; revoke it instead (remove)')
    const answer = await this.storage.answerInvitation({ id: invitation.id, answer: data.status, userId: me.id, at: nowIso(this.app) })
    this.announceRevoked(answer.change?.revokedInvitations ?? [])
    if (answer.change !== undefined && answer.change.previousRole !== answer.change.member.role) {
      const collection = await this.storage.getCollection(invitation.collectionId)
      if (collection !== undefined) {
        this.app
          .service('collections')
          .announceMember(collection, answer.change.previousRole === undefined ? 'added' : 'changed', answer.change.member)
      }
    }
    return toInvitation(answer.invitation)
  }

  /** Revoke: the collection's owners and admins (admins not an owner's invitation). */
  async remove(id: Id, params: InvitationParams): Promise<Invitation> {
    const me = user(params)
    const { invitation, role } = await this.visible(String(id), me)
    if (!allows(role, 'manage')) throw new Forbidden('Only the collection\'s owners and admins revoke an invitation; decline it instead')
    if (!mayManageMember(role!, undefined, invitation.role)) throw new Forbidden('Only an owner can revoke an invitation to be an owner', { role, needs: 'owner' })
    return toInvitation(await this.storage.revokeInvitation({ id: invitation.id, actorId: me.id, at: nowIso(this.app) }))
  }

  /**
   * Invitations revoked because their invitee's membership changed: heard
   * as `patched` by the invitee and the managers, as an answer would be.
   */
  announceRevoked(invitations: StoredInvitation[]): void {
    for (const invitation of invitations) this.emit('patched', toInvitation(invitation))
  }

  // Provided by Feathers' event mixin once the service is registered.
  declare emit: (event: string, ...args: unknown[]) => boolean

  /** The invitation if the caller is its invitee or manages its collection; 404 otherwise. */
  private async visible(id: string, me: AuthenticatedUser) {
    const invitation = await this.storage.getInvitation(id, nowIso(this.app))
    if (invitation !== undefined) {
      const asInvitee = isInvitee(invitation, me)
      const role = (await this.storage.getMember(invitation.collectionId, me.id))?.role
      if (asInvitee || allows(role, 'manage')) return { invitation, asInvitee, role }
    }
    throw new NotFound(`Invitation "${id}" not found`)
  }
}

