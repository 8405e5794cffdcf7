import type { TakenCollection } from '../backend.js'
import { StorageError } from '../errors.js'
import { atLeast, mayManageMember } from '../roles.js'
import type { MemberRole } from '../types.js'

/**
 * Role checks made inside a transaction, against the actor's role read after
 * the collection was taken: a change of roles that committed first is seen,
 * whatever the service checked before calling. To someone who is not a
 * member, 'forbidden' with no role, which the services answer 404, as for a
 * collection that does not exist.
 */

export function requireRole(taken: Pick<TakenCollection, 'role'> & { collection: { id: string } }, needed: MemberRole, what: string): void {
  if (atLeast(taken.role, needed)) return
  throw new StorageError('forbidden', `${what} needs ${needed} or above`, {
    access: { collectionId: taken.collection.id, role: taken.role, needs: needed }
  })
}

/** The actor may give `target` (their role now; undefined: not a member) the role `next` (undefined: remove them). */
export function requireMayManage(taken: TakenCollection, target: MemberRole | undefined, next: MemberRole | undefined): void {
  if (mayManageMember(taken.role, target, next)) return
  const needs: MemberRole = atLeast(taken.role, 'admin') ? 'owner' : 'admin'
  throw new StorageError('forbidden', needs === 'owner' ? 'Only an owner can make, change or remove an owner' : 'Managing members needs admin or above', {
    access: { collectionId: taken.collection.id, role: taken.role, needs }
  })
}
