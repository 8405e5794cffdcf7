import type { MemberRole } from './types.js'

/** Roles from least to most: each can do everything the ones before it can. */
const RANK: Record<MemberRole, number> = { reader: 1, writer: 2, admin: 3, owner: 4 }

/** Whether a role (undefined: not a member) is `needed` or above. */
export const atLeast = (role: MemberRole | undefined, needed: MemberRole): boolean => role !== undefined && RANK[role] >= RANK[needed]

/** Every role that is `needed` or above. */
export const rolesAtLeast = (needed: MemberRole): MemberRole[] => (Object.keys(RANK) as MemberRole[]).filter((role) => RANK[role] >= RANK[needed])
