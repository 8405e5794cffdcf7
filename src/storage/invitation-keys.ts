import type { InvitationKey } from './types.js'

/**
 * The keys an invitation carries (NewInvitation.keys) are kept with it as
 * JSON text in every backend, as record data is: the server never looks
 * inside a wrapped key. Only their epochs are read back for the invitation
 * (StoredInvitation.keyEpochs); the keys themselves only on accepting.
 */

export const invitationKeysText = (keys: InvitationKey[] | null): string | null => (keys === null || keys.length === 0 ? null : JSON.stringify(keys))

export const invitationKeysOf = (text: string | null | undefined): InvitationKey[] =>
  text === null || text === undefined ? [] : (JSON.parse(text) as InvitationKey[])

/** The distinct epochs carried, ascending. */
export const keyEpochsOf = (text: string | null | undefined): number[] =>
  [...new Set(invitationKeysOf(text).map((key) => key.epoch))].sort((a, b) => a - b)
