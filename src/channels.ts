import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import { allows, type Permission } from './access.js'
import type { Application, AuthenticatedUser } from './declarations.js'
import type { Collection } from './services/collections/collections.schema.js'
import type { Invitation } from './services/invitations/invitations.schema.js'
import { PublishOrder } from './realtime/publish-order.js'
import { fanOutOf } from './realtime/index.js'
import type { MemberRole, StoredCollection } from './storage/types.js'

/**
 * Who hears what over socket.io. Every decision reads the collection's
 * members when the event is published, so a member removed a moment ago
 * hears nothing more, on sockets already connected too.
 * - every authenticated connection is in `users/<userId>`;
 * - a connection that subscribed to a collection (the `subscriptions`
 *   service) is in `collections/<id>` and hears its `change` events while
 *   its user is a member;
 * - `lock` events go to every connection of every member, subscribed or not
 *   (a device must learn that it lost its lease even when not following changes);
 * - `member` events go to every member and to the member concerned (so a
 *   removed member learns it); the removed member's connections also leave
 *   the collection's channel;
 * - `keys` events (an encryption key epoch started, keys added) go to every
 *   connection of every member, as `member` events do;
 * - collection `created` goes to its creator, `patched` and `removed` to
 *   every member (for `removed`, those of the moment it was deleted);
 * - `invitations` events go to the invitee and to the collection's owners and admins.
 * Nothing is published to anonymous connections.
 *
 * Every event reaches the sockets in the order it was emitted (so the change
 * events of one commit arrive in staging order, across collections), however
 * long each one's audience takes to read: see realtime/publish-order.ts.
 */
export const userChannel = (userId: string) => `users/${userId}`
export const collectionChannel = (collectionId: string) => `collections/${collectionId}`

type Connection = RealTimeConnection & { user?: AuthenticatedUser }
type Roles = Map<string, MemberRole>

/** What services pass as the second argument of their custom events: stands in for a hook context. */
export interface CollectionEventContext {
  /** Who may hear is decided by its members, read when the event is published. */
  collection: Pick<StoredCollection, 'id'>
  /** For `member` events: the user the change is about. */
  concerned?: string
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** Set by collections.remove: the members at deletion, who hear of it. */
    formerMembers?: Array<{ userId: string; role: MemberRole }>
  }
}

export const channels = (app: Application) => {
  app.on('connection', (connection: Connection) => {
    app.channel('anonymous').join(connection)
  })

  app.on('login', (result: { user?: AuthenticatedUser }, { connection }: { connection?: Connection }) => {
    if (!connection || !result.user) return
    app.channel('anonymous').leave(connection)
    app.channel(userChannel(result.user.id)).join(connection)
  })

  app.on('logout', (_result: unknown, { connection }: { connection?: Connection }) => {
    if (connection && app.channels.length > 0) app.channel(app.channels).leave(connection)
  })

  const members = new MemberRoles(app)
  const { ordered } = new PublishOrder()
  const usersWho = (roles: Roles, permission: Permission, ...also: string[]) =>
    app.channel(...[...roles].filter(([, role]) => allows(role, permission)).map(([userId]) => userChannel(userId)), ...also.map(userChannel))
  const anyoneSignedIn = () => app.channels.some((name) => name.startsWith('users/') && app.channel(name).length > 0)

  const collections = app.service('collections')

  // `change`, `lock` and `member` come with every write and reach whole
  // audiences (`keys`, rarer, reaches the same as `member`): they are sent by realtime/fan-out.ts, encoded once per
  // audience and written in rounds, not by Feathers once per connection. Each
  // is handed over in its turn in PublishOrder, and what is still queued there
  // is sent before any event Feathers sends (collection and invitation
  // events): events still leave in the order they were emitted.
  const fanOut = fanOutOf(app)
  const sentByFeathers = <A extends unknown[], R>(publisher: (...args: A) => R | Promise<R>) => {
    const inOrder = ordered(publisher)
    return (...args: A) =>
      inOrder(...args).then((audience) => {
        fanOut.flush()
        return audience
      })
  }
  const sentOnce = (event: string, audienceOf: (context: CollectionEventContext) => Promise<RealTimeConnection[] | undefined>) => {
    const inOrder = ordered(audienceOf)
    return (_data: unknown, hook: unknown) => {
      const context = hook as CollectionEventContext & { dispatch?: unknown; result?: unknown }
      // What Feathers' dispatch would send: the hook's `dispatch`, or else its `result` (the event).
      return inOrder(context).then((audience) => {
        if (audience !== undefined) fanOut.send(`collections ${event}`, context.dispatch || context.result, audience)
        return undefined
      })
    }
  }

  collections.publish('change', sentOnce('change', async ({ collection }) => {
    const subscribers = app.channel(collectionChannel(collection.id))
    // Most writes have no subscriber: no need to read the members then.
    if (subscribers.length === 0) return undefined
    const roles = await members.of(collection.id)
    return subscribers.connections.filter((connection: Connection) => allows(roles.get(connection.user?.id ?? ''), 'read'))
  }))

  collections.publish('lock', sentOnce('lock', async ({ collection }) => {
    if (!anyoneSignedIn()) return undefined
    return usersWho(await members.of(collection.id), 'read').connections
  }))

  collections.publish('member', sentOnce('member', async ({ collection, concerned }) => {
    return usersWho(await members.of(collection.id), 'read', ...(concerned === undefined ? [] : [concerned])).connections
  }))

  // The same audience as `member` (without anyone concerned): a member's devices fetch their key whether or not they follow the changes.
  collections.publish('keys', sentOnce('keys', async ({ collection }) => usersWho(await members.of(collection.id), 'read').connections))

  // A removed member's sockets stop following the collection at once.
  collections.on('member', (event: { collectionId: string; type: string; member: { userId: string } }) => {
    members.forget(event.collectionId)
    if (event.type !== 'removed') return
    const channel = app.channel(collectionChannel(event.collectionId))
    channel.leave((connection: Connection) => connection.user?.id === event.member.userId)
  })

  // A deleted collection's subscribers leave its channel: a collection created
  // again under the same id must be subscribed to afresh.
  collections.on('removed', (collection: Collection) => {
    members.forget(collection.id)
    const channel = app.channel(collectionChannel(collection.id))
    channel.leave(...channel.connections)
  })

  // A collection as each listener sees it: with their own role, not the caller's.
  const toEachMember = (collection: Collection, roles: Iterable<[string, MemberRole]>) => {
    const byRole = new Map<MemberRole, string[]>()
    for (const [userId, role] of roles) byRole.set(role, [...(byRole.get(role) ?? []), userChannel(userId)])
    return [...byRole].map(([role, names]) => app.channel(...names).send({ ...collection, role }))
  }
  collections.publish('created', sentByFeathers((collection) => app.channel(userChannel((collection as Collection).ownerId))))
  collections.publish('patched', sentByFeathers(async (collection) => toEachMember(collection as Collection, await members.of((collection as Collection).id))))
  collections.publish(
    'removed',
    sentByFeathers((collection, context) =>
      toEachMember(collection as Collection, ((context.params as Params).formerMembers ?? []).map(({ userId, role }): [string, MemberRole] => [userId, role]))
    )
  )

  app.service('invitations').publish(sentByFeathers(async (data) => {
    const invitation = data as Invitation
    const invitee = invitation.inviteeUserId ?? (invitation.inviteeEmail === null ? undefined : (await app.get('storage').findUserByEmail(invitation.inviteeEmail))?.id)
    return usersWho(await members.of(invitation.collectionId), 'manage', ...(invitee === undefined ? [] : [invitee]))
  }))
}

/**
 * The members of a collection, as the events decide who hears what. Read
 * once and kept until a membership change of that collection is announced in
 * this process (`collections member`, `collections removed`), which drops it
 * before the change's own event is published, so a removed member hears
 * nothing after their removal. With several instances (`sync.url`) every
 * instance's member events come back through the bus, so they drop it on every
 * instance, before any event of a write made after the change was answered
 * (realtime/sync.ts). Kept at most `MEMBERS_KEPT_MS` besides, in case the
 * members changed elsewhere (an instance without the bus). Reads of one collection are chained, so a
 * re-read never answers with members older than the read before it. (The
 * order of events is kept by PublishOrder, across collections.)
 */
const MEMBERS_KEPT_MS = 1000

class MemberRoles {
  private readonly kept = new Map<string, { roles: Promise<Roles>; until: number }>()

  constructor(private readonly app: Application) {}

  of(collectionId: string): Promise<Roles> {
    const entry = this.kept.get(collectionId)
    if (entry !== undefined && entry.until > Date.now()) return entry.roles
    const read = async () => new Map((await this.app.get('storage').listMemberRoles(collectionId)).map(({ userId, role }) => [userId, role]))
    const roles = entry === undefined ? read() : entry.roles.then(read, read)
    this.kept.set(collectionId, { roles, until: Date.now() + MEMBERS_KEPT_MS })
    // A failed read is not kept.
    roles.catch(() => {
      if (this.kept.get(collectionId)?.roles === roles) this.kept.delete(collectionId)
    })
    return roles
  }

  /** The members changed: the next event reads them again, after any read still running. */
  forget(collectionId: string): void {
    const entry = this.kept.get(collectionId)
    if (entry !== undefined) this.kept.set(collectionId, { ...entry, until: 0 })
  }
}
