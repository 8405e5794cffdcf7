import type { MemberRole } from './types.js'

/** Roles from least to most: each can do everything the ones before it can. */
const RANK: Record<MemberRole, number> = { reader: 1, writer: 2, admin: 3, owner: 4 }

/** Whether a role (undefined: not a member) is `needed` or above. */
export const atLeast = (role: MemberRole | undefined, needed: MemberRole): boolean => role !== undefined && RANK[role] >= RANK[needed]

/** Every role that is `needed` or above. */
export const rolesAtLeast = (needed: MemberRole): MemberRole[] => (Object.keys(RANK) as MemberRole[]).filter((role) => RANK[role] >= RANK[needed])

/**
 * May `actor` (an owner or admin) give `target` the role `next` (undefined:
 * remove them)? Admins manage everyone but owners, and cannot make owners.
 * Checked by the services for a clear answer, and again by the storage rules
 * inside the transaction, against the roles as they are then.
 */
export function mayManageMember(actor: MemberRole | undefined, target: MemberRole | undefined, next: MemberRole | undefined): boolean {
  if (!atLeast(actor, 'admin')) return false
  if (actor === 'owner') return true
  return target !== 'owner' && next !== 'owner'
}
