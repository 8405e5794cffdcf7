import { BadRequest, NotFound } from '@feathersjs/errors'
import type { AuthenticatedUser, HookContext, NextFunction } from './declarations.js'
import { ID_PATTERN } from './ids.js'
import type { Storage, StoredCollection } from './storage/types.js'

/**
 * The one authorization point for collections and everything inside them.
 * Today a collection is private to its owner; sharing (roles per member)
 * will change `can` and nothing else.
 */
export type Permission = 'read' | 'write' | 'manage'

export function can(user: Pick<AuthenticatedUser, 'id'> | undefined, collection: StoredCollection, _permission: Permission): boolean {
  return user !== undefined && collection.ownerId === user.id
}

/** Everyone who may read a collection: whose sockets hear about its locks. */
export function readersOf(collection: StoredCollection): string[] {
  return [collection.ownerId]
}

/**
 * Loads a collection the user may access, or throws 404. Strangers get the
 * same 404 whether or not the collection exists, so ids cannot be probed.
 */
export async function authorizeCollection(
  storage: Storage,
  user: AuthenticatedUser | undefined,
  collectionId: string,
  permission: Permission
): Promise<StoredCollection> {
  const collection = ID_PATTERN.test(collectionId) ? await storage.getCollection(collectionId) : undefined
  if (collection === undefined || !can(user, collection, permission)) {
    throw new NotFound(`Collection "${collectionId}" not found`)
  }
  return collection
}

/** The signed-in user of a call; authenticate() runs first on every data service, so one is always there. */
export function requireUser(params: { user?: AuthenticatedUser }): AuthenticatedUser {
  if (!params.user) throw new Error('authenticate() must run before this service')
  return params.user
}

const WRITE_METHODS = new Set(['create', 'update', 'patch', 'remove'])

/** By default reads (find, get) need 'read' and every other method 'write'. */
const methodPermission = (context: HookContext): Permission => (WRITE_METHODS.has(context.method) ? 'write' : 'read')

/**
 * Hook for services under /collections/:collectionId/…: checks the caller may
 * do what the call needs (`permissionFor`, by default by method) on the
 * collection and puts it on `params.collection`.
 */
export const authorizeRouteCollection = (permissionFor: (context: HookContext) => Permission = methodPermission) => async (context: HookContext, next: NextFunction) => {
  const collectionId = context.params.route?.collectionId
  if (typeof collectionId !== 'string' || !ID_PATTERN.test(collectionId)) {
    throw new BadRequest(`"collectionId" in the path is not a valid id`)
  }
  const permission = permissionFor(context)
  const collection = await authorizeCollection(context.app.get('storage'), context.params.user, collectionId, permission)
  context.params = { ...context.params, collection }
  await next()
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** The collection of a nested route, once authorized. */
    collection?: StoredCollection
  }
}
