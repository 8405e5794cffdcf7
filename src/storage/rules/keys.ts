import type { BackendQueries, KeyEpochRow, StorageTx, TakenCollection, Tx } from '../backend.js'
import { StorageError } from '../errors.js'
import { atLeast } from '../roles.js'
import type { InvitationKey, JsonValue, Page, StoredCollectionKey, StoredInvitation, StoredKeyEpoch, StoredUserKey, WrappedKeyInput } from '../types.js'
import { requireRole } from './authorize.js'

/**
 * End-to-end encryption keys (KeysPort). The server never sees a key; what
 * it keeps straight is who has a wrapped key for which epoch. Epochs and
 * wrapped keys change with the collection taken, as membership changes do,
 * so an epoch is checked against the members as they are: a member added
 * while an epoch is being made either is in it or makes it fail
 * ('members-changed'), never left out silently. A user's key changes with the
 * user taken, by compare-and-set on its version.
 */

// Account public keys

export function* putUserKey(
  tx: StorageTx,
  params: { userId: string; publicKey: string; baseKeyVersion: number; passphraseWrap?: JsonValue | null; at: string }
): Tx<StoredUserKey> {
  const { userId, publicKey, baseKeyVersion, passphraseWrap, at } = params
  if (!(yield* tx.takeUser(userId))) throw new StorageError('not-found', `User ${userId} does not exist`)
  const current = yield* tx.getUserKey(userId)
  if ((current?.keyVersion ?? 0) !== baseKeyVersion) {
    throw new StorageError('conflict', `The key is at version ${current?.keyVersion ?? 0}, not ${baseKeyVersion}`, { data: { current: current ?? null } })
  }
  const key: StoredUserKey = {
    userId,
    publicKey,
    keyVersion: baseKeyVersion + 1,
    // The copy belongs to the secret it wraps: kept from an older key it would open the wrong one.
    passphraseWrap: passphraseWrap ?? null,
    createdAt: current?.createdAt ?? at,
    updatedAt: at
  }
  yield* tx.putUserKey(key)
  return key
}

export function* setPassphraseWrap(tx: StorageTx, params: { userId: string; passphraseWrap: JsonValue | null; at: string }): Tx<StoredUserKey> {
  if (!(yield* tx.takeUser(params.userId))) throw new StorageError('not-found', `User ${params.userId} does not exist`)
  const current = yield* tx.getUserKey(params.userId)
  if (current === undefined) throw new StorageError('not-found', `User ${params.userId} has no key yet`)
  const key: StoredUserKey = { ...current, passphraseWrap: params.passphraseWrap, updatedAt: params.at }
  yield* tx.putUserKey(key)
  return key
}

// Epochs and wrapped keys

/** Owners and admins start the next epoch with a key for exactly every member who has a public key. */
export function* createKeyEpoch(
  tx: StorageTx,
  params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }
): Tx<{ epoch: StoredKeyEpoch; keys: StoredCollectionKey[] }> {
  const { collectionId, epoch, keys, actorId, at } = params
  const taken = yield* take(tx, collectionId, actorId)
  requireRole(taken, 'admin', 'Starting a key epoch')
  assertDistinctUsers(keys)
  const epochs = yield* tx.keyEpochs(collectionId)
  const currentEpoch = epochs.at(-1)?.epoch ?? 0
  if (epoch !== currentEpoch + 1) {
    throw new StorageError('conflict', `Epoch ${epoch} cannot start: the current epoch is ${currentEpoch}`, { data: { reason: 'epoch-taken', currentEpoch } })
  }
  const members = yield* tx.memberKeyVersions(collectionId)
  const holders = new Map(members.filter((member) => member.keyVersion !== null).map((member) => [member.userId, member.keyVersion]))
  const given = new Set(keys.map((key) => key.userId))
  const missing = [...holders.keys()].filter((userId) => !given.has(userId)).sort()
  const notMembers = [...given].filter((userId) => !holders.has(userId)).sort()
  if (missing.length > 0 || notMembers.length > 0) {
    throw new StorageError('conflict', 'The keys must be for exactly the members who have a public key', { data: { reason: 'members-changed', missing, notMembers } })
  }
  assertCurrentVersions(keys, holders)
  const row: KeyEpochRow = { collectionId, epoch, createdBy: actorId, createdAt: at }
  yield* tx.insertKeyEpoch(row)
  const stored = keys.map((key) => storedKey(collectionId, epoch, key, actorId, at)).sort(byUser)
  if (stored.length > 0) yield* tx.putCollectionKeys(stored)
  return { epoch: { ...row, missing: [] }, keys: stored }
}

/**
 * Owners and admins add keys to an existing epoch for members who lack one
 * for their current key: a row with the same keyVersion is left as it is
 * (two managers healing at once both succeed), an older one replaced.
 */
export function* addCollectionKeys(
  tx: StorageTx,
  params: { collectionId: string; epoch: number; keys: WrappedKeyInput[]; actorId: string; at: string }
): Tx<StoredCollectionKey[]> {
  const { collectionId, epoch, keys, actorId, at } = params
  const taken = yield* take(tx, collectionId, actorId)
  requireRole(taken, 'admin', 'Adding collection keys')
  assertDistinctUsers(keys)
  const epochs = yield* tx.keyEpochs(collectionId)
  if (!epochs.some((row) => row.epoch === epoch)) throw new StorageError('not-found', `Key epoch ${epoch} does not exist`)
  const members = new Map((yield* tx.memberKeyVersions(collectionId)).map((member) => [member.userId, member.keyVersion]))
  const notMembers = keys.map((key) => key.userId).filter((userId) => !members.has(userId)).sort()
  if (notMembers.length > 0) {
    throw new StorageError('conflict', `Not members of collection ${collectionId}: ${notMembers.join(', ')}`, { data: { reason: 'members-changed', notMembers } })
  }
  assertCurrentVersions(keys, members)
  return yield* putNewKeys(tx, keys.map((key) => storedKey(collectionId, epoch, key, actorId, at)))
}

/**
 * On accepting an invitation (its collection taken, the invitee a member
 * now): the keys it carries whose epoch still exists and whose keyVersion is
 * still the invitee's current one; the others are dropped, and a manager's
 * client heals what is missing.
 */
export function* addInvitationKeys(tx: StorageTx, invitation: StoredInvitation, userId: string, at: string): Tx<StoredCollectionKey[]> {
  if (invitation.keyEpochs.length === 0) return []
  const carried: InvitationKey[] = yield* tx.invitationKeys(invitation.id)
  const userKey = yield* tx.getUserKey(userId)
  if (userKey === undefined) return []
  const epochs = new Set((yield* tx.keyEpochs(invitation.collectionId)).map((row) => row.epoch))
  const byEpoch = new Map<number, StoredCollectionKey>()
  for (const key of carried) {
    if (!epochs.has(key.epoch) || key.keyVersion !== userKey.keyVersion) continue
    byEpoch.set(key.epoch, storedKey(invitation.collectionId, key.epoch, { userId, keyVersion: key.keyVersion, wrappedKey: key.wrappedKey }, invitation.invitedBy, at))
  }
  const written: StoredCollectionKey[] = []
  for (const key of byEpoch.values()) written.push(...(yield* putNewKeys(tx, [key])))
  return written
}

/** Writes the keys (of one epoch) unless a row with the same keyVersion is there: the rows written, by user id. */
function* putNewKeys(tx: StorageTx, keys: StoredCollectionKey[]): Tx<StoredCollectionKey[]> {
  if (keys.length === 0) return []
  const { collectionId, epoch } = keys[0]
  const existing = new Map((yield* tx.getCollectionKeys(collectionId, epoch, keys.map((key) => key.userId))).map((row) => [row.userId, row.keyVersion]))
  const fresh = keys.filter((key) => existing.get(key.userId) !== key.keyVersion).sort(byUser)
  if (fresh.length > 0) yield* tx.putCollectionKeys(fresh)
  return fresh
}

// Reads: the actor's role read with the collection, as the services do for other member reads.

/** Any member; `missing` worked out for owners and admins only. */
export async function listKeyEpochs(db: BackendQueries, collectionId: string, actorId: string): Promise<StoredKeyEpoch[]> {
  const access = await readAccess(db, collectionId, actorId, 'Reading key epochs')
  const epochs = await db.keyEpochs(collectionId)
  const missing = new Map<number, string[]>()
  if (atLeast(access.role, 'admin')) {
    for (const { epoch, userId } of await db.missingCollectionKeys(collectionId)) missing.set(epoch, [...(missing.get(epoch) ?? []), userId])
  }
  return epochs.map((row) => ({ ...row, missing: missing.get(row.epoch) ?? [] }))
}

/** Owners and admins read every row; other members only their own. */
export async function listCollectionKeys(
  db: BackendQueries,
  collectionId: string,
  params: { actorId: string; userId?: string; epoch?: number; limit: number; skip: number }
): Promise<Page<StoredCollectionKey>> {
  const { actorId, epoch, limit, skip } = params
  const access = await readAccess(db, collectionId, actorId, 'Reading collection keys')
  let userId = params.userId
  if (!atLeast(access.role, 'admin')) {
    if (userId !== undefined && userId !== actorId) requireRole(access, 'admin', "Reading another member's keys")
    userId = actorId
  }
  return db.listCollectionKeys(collectionId, { userId, epoch, limit, skip })
}

async function readAccess(db: BackendQueries, collectionId: string, actorId: string, what: string) {
  const access = await db.getCollectionAccess(collectionId, actorId)
  if (access === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  requireRole(access, 'reader', what)
  return access
}

function* take(tx: StorageTx, collectionId: string, actorId: string): Tx<TakenCollection> {
  const taken = yield* tx.takeCollection(collectionId, { roleOf: actorId })
  if (taken === undefined) throw new StorageError('not-found', `Collection ${collectionId} does not exist`)
  return taken
}

function assertDistinctUsers(keys: WrappedKeyInput[]): void {
  const seen = new Set<string>()
  for (const { userId } of keys) {
    if (seen.has(userId)) throw new StorageError('invalid', `User ${userId} has more than one key in the request`)
    seen.add(userId)
  }
}

/** Each key must be made for its user's current public key. */
function assertCurrentVersions(keys: WrappedKeyInput[], versions: Map<string, number | null>): void {
  const userIds = keys.filter((key) => versions.get(key.userId) !== key.keyVersion).map((key) => key.userId).sort()
  if (userIds.length > 0) {
    throw new StorageError('conflict', `Keys made for a public key that is not the user's current one: ${userIds.join(', ')}`, { data: { reason: 'stale-key', userIds } })
  }
}

const storedKey = (collectionId: string, epoch: number, key: WrappedKeyInput, wrappedBy: string, at: string): StoredCollectionKey => ({
  collectionId,
  epoch,
  userId: key.userId,
  keyVersion: key.keyVersion,
  wrappedKey: key.wrappedKey,
  wrappedBy,
  createdAt: at
})

const byUser = (a: StoredCollectionKey, b: StoredCollectionKey): number => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
