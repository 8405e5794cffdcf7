import { BadRequest, Forbidden, NotFound } from '@feathersjs/errors'
import type { AuthenticatedUser, HookContext, NextFunction } from './declarations.js'
import { ID_PATTERN } from './ids.js'
import { atLeast } from './storage/roles.js'

export { mayManageMember } from './storage/roles.js'
import type { CollectionWithRole, MemberRole, Storage } from './storage/types.js'

/**
 * The one authorization point for collections and everything inside them:
 * records, changes, subscriptions, batches, locks, members, invitations,
 * over REST and socket.io alike, and the realtime channels (channels.ts).
 *
 * A user's access to a collection is their role as a member:
 *
 * | permission | needs role | used for |
 * | --- | --- | --- |
 * | read | reader | records find/get, changes, subscriptions, shared locks, members list |
 * | write | writer | record writes, batches, exclusive locks |
 * | manage | admin | rename, members, invitations |
 * | delete | owner | deleting the collection |
 *
 * Not a member → 404, whether or not the collection exists (ids cannot be
 * probed). A member whose role is too low → 403: they know it exists.
 */
export type Permission = 'read' | 'write' | 'manage' | 'delete'

export const NEEDS: Record<Permission, MemberRole> = { read: 'reader', write: 'writer', manage: 'admin', delete: 'owner' }

/** Whether a role (undefined: not a member) grants a permission. */
export function allows(role: MemberRole | undefined, permission: Permission): boolean {
  return atLeast(role, NEEDS[permission])
}

/** The 404 a non-member gets: the same words whether or not the collection exists. */
export const collectionNotFound = (collectionId: string) => new NotFound(`Collection "${collectionId}" not found`)

/** The 403 a member whose role is too low gets. */
export const roleTooLow = (collectionId: string, role: MemberRole, needs: MemberRole) =>
  new Forbidden(`Your role in collection "${collectionId}" is ${role}; this needs ${needs} or above`, { role, needs })

/**
 * Loads a collection with the caller's role, or throws: 404 if they are not
 * a member (or it does not exist), 403 if their role does not allow
 * `permission`.
 */
export async function authorizeCollection(
  storage: Storage,
  user: AuthenticatedUser | undefined,
  collectionId: string,
  permission: Permission
): Promise<CollectionWithRole> {
  const access = user !== undefined && ID_PATTERN.test(collectionId) ? await storage.getCollectionAccess(collectionId, user.id) : undefined
  if (access === undefined || access.role === undefined) throw collectionNotFound(collectionId)
  if (!allows(access.role, permission)) throw roleTooLow(collectionId, access.role, NEEDS[permission])
  return { ...access.collection, role: access.role }
}

/** The signed-in user of a call; authenticate() runs first on every data service, so one is always there. */
export function requireUser(params: { user?: AuthenticatedUser }): AuthenticatedUser {
  if (!params.user) throw new Error('authenticate() must run before this service')
  return params.user
}

const WRITE_METHODS = new Set(['create', 'update', 'patch', 'remove'])

/** By default reads (find, get) need 'read' and every other method 'write'. */
const methodPermission = (context: HookContext): Permission => (WRITE_METHODS.has(context.method) ? 'write' : 'read')

/** The `:collectionId` of a nested route, checked to be a valid id (400 otherwise). */
export function routeCollectionId(context: HookContext): string {
  const collectionId = context.params.route?.collectionId
  if (typeof collectionId !== 'string' || !ID_PATTERN.test(collectionId)) {
    throw new BadRequest(`"collectionId" in the path is not a valid id`)
  }
  return collectionId
}

/**
 * Record writes are authorized by storage, inside their transaction (where it
 * must happen anyway, to see a membership change that committed first): this
 * hook only checks the route's collection id. Storage refuses a non-member
 * with the same 404 as a missing collection, and too low a role with a 403.
 */
export const routeCollectionOnly = () => async (context: HookContext, next: NextFunction) => {
  routeCollectionId(context)
  await next()
}

/**
 * Hook for services under /collections/:collectionId/…: checks the caller may
 * do what the call needs (`permissionFor`, by default by method) on the
 * collection and puts it, with the caller's role, on `params.collection`.
 */
export const authorizeRouteCollection = (permissionFor: (context: HookContext) => Permission = methodPermission) => async (context: HookContext, next: NextFunction) => {
  const collectionId = routeCollectionId(context)
  const permission = permissionFor(context)
  const collection = await authorizeCollection(context.app.get('storage'), context.params.user, collectionId, permission)
  context.params = { ...context.params, collection }
  await next()
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** The collection of a nested route, once authorized, with the caller's role. */
    collection?: CollectionWithRole
  }
}
