import { Forbidden, NotFound } from '@feathersjs/errors'
import type { Id, Paginated, Params } from '@feathersjs/feathers'
import { mayManageMember, requireUser as user } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { pageOf } from '../../paging.js'
import type { CollectionWithRole, MemberRole, StoredMember } from '../../storage/types.js'
import { lockPath } from '../locks/locks.shared.js'
import { eventsSent } from '../../realtime/sync.js'
import type { Member, MemberAdd, MemberPatch, MemberQuery } from './members.schema.js'

export type MemberParams = Params<MemberQuery>

export const toMember = (member: StoredMember): Member => ({ ...member })

/**
 * The members of one collection (/collections/:collectionId/members), ids are
 * user ids. The hooks have authenticated the caller and authorized the
 * collection (`params.collection`, with the caller's role): any member may
 * list members; changing them needs owner or admin, as `mayManageMember` says;
 * anyone may remove themselves. Checked here for a clear answer, and again by
 * storage inside the change's transaction against the roles as they are then
 * (src/storage/rules/members.ts), so a change racing another cannot slip
 * through. Every change is announced as a `collections member` event after
 * it committed. Storage errors (409
 * last-owner, 404…) become Feathers errors in the app's one mapping (app.ts).
 */
export class MemberService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: MemberParams): Promise<Paginated<Member>> {
    const { limit, skip } = pageOf(this.app, params.query)
    const page = await this.storage.listMembers(collection(params).id, { limit, skip })
    return { total: page.total, limit, skip, data: page.data.map(toMember) }
  }

  async get(id: Id, params: MemberParams): Promise<Member> {
    return toMember(await this.existing(collection(params).id, String(id)))
  }

  async create(data: MemberAdd, params: MemberParams): Promise<Member> {
    const target = collection(params)
    this.mayChange(target, undefined, data.role)
    const change = await this.storage.putMember({ collectionId: target.id, userId: data.userId, role: data.role, at: nowIso(this.app), actorId: user(params).id, onlyIf: 'new' })
    this.app.service('collections').announceMember(target, 'added', change.member)
    this.app.service('invitations').announceRevoked(change.revokedInvitations)
    return toMember(change.member)
  }

  async patch(id: Id, data: MemberPatch, params: MemberParams): Promise<Member> {
    const target = collection(params)
    const current = await this.existing(target.id, String(id))
    this.mayChange(target, current.role, data.role)
    const change = await this.storage.putMember({ collectionId: target.id, userId: current.userId, role: data.role, at: nowIso(this.app), actorId: user(params).id, onlyIf: 'existing' })
    if (change.previousRole !== change.member.role) this.app.service('collections').announceMember(target, 'changed', change.member)
    for (const lock of change.locks) this.app.service(lockPath).announce('released', target, lock)
    this.app.service('invitations').announceRevoked(change.revokedInvitations)
    await eventsSent(this.app)
    return toMember(change.member)
  }

  /** Removing yourself is leaving: allowed whatever the role (but the last owner stays). */
  async remove(id: Id, params: MemberParams): Promise<Member> {
    const target = collection(params)
    const current = await this.existing(target.id, String(id))
    if (current.userId !== user(params).id) this.mayChange(target, current.role, undefined)
    const removal = await this.storage.removeMember({ collectionId: target.id, userId: current.userId, actorId: user(params).id, at: nowIso(this.app) })
    this.app.service('collections').announceMember(target, 'removed', removal.member)
    for (const lock of removal.locks) this.app.service(lockPath).announce('released', target, lock)
    this.app.service('invitations').announceRevoked(removal.revokedInvitations)
    // Across instances: answered only once every instance will hear of it before any later write (realtime/sync.ts).
    await eventsSent(this.app)
    return toMember(removal.member)
  }

  private async existing(collectionId: string, userId: string): Promise<StoredMember> {
    const member = await this.storage.getMember(collectionId, userId)
    if (member === undefined) throw new NotFound(`User "${userId}" is not a member of collection "${collectionId}"`)
    return member
  }

  private mayChange(target: CollectionWithRole, current: MemberRole | undefined, next: MemberRole | undefined): void {
    if (mayManageMember(target.role, current, next)) return
    const ownerMatter = target.role === 'admin'
    throw new Forbidden(
      ownerMatter
        ? 'Admins manage writers, readers and other admins; only an owner can make, change or remove an owner'
        : `Your role in collection "${target.id}" is ${target.role}; managing members needs admin or above`,
      { role: target.role, needs: ownerMatter ? 'owner' : 'admin' }
    )
  }
}


/** The hooks put the authorized collection on params before any method runs. */
const collection = (params: MemberParams): CollectionWithRole => {
  if (!params.collection) throw new Error('authorizeRouteCollection() must run before the members service')
  return params.collection
}
