import type { AesGcm } from '../crypto/aes-gcm.js'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import type { KeyEpoch } from '../../services/key-epochs/key-epochs.shared.js'
import type { Role } from '../../services/members/members.shared.js'
import { wrapCollectionKey } from '../crypto/key-wrap.js'
import { decryptRecord, encryptRecord, envelopeEpoch } from '../crypto/record-envelope.js'
import { toRoostError } from '../errors.js'
import { uuid } from '../ids.js'
import type { BatchPlan, BatchResult } from '../engine/batch-upload.js'
import type { LockHandle, LockOptions } from '../engine/locks.js'
import type { RestTransport } from '../transport/rest.js'
import type { Json, ServerRecord } from '../types.js'
import { senderOf, type KeyRing } from './keyring.js'

export interface SharingDeps {
  ring: KeyRing
  rest: RestTransport
  aes: AesGcm
  signedIn(): Promise<string>
  lock(collectionId: string, options: LockOptions): Promise<LockHandle>
  /** The engine's batch upload (engine/batch-upload.ts), and its abort. */
  runBatch(plan: BatchPlan): Promise<BatchResult>
  abortBatch(batchId: string): Promise<void>
}

const base = (collectionId: string) => `collections/${encodeURIComponent(collectionId)}`

/** Records re-encrypted per batch: one transaction each on the server. */
const REENCRYPT_BATCH = 200

/**
 * Sharing an encrypted collection: invitations that carry the key, keys
 * for members who lack one, and rotation when someone leaves (a new epoch
 * under a Roost lock, then the older records re-encrypted in batches).
 * On a plaintext collection these are plain sharing calls.
 */
export class SharingApi {
  /** Removals this client made (and rotates for itself), by collection and user, with when: the member event of each is not ours to act on. */
  private readonly removedHere = new Map<string, number>()

  constructor(private readonly deps: SharingDeps) {}

  /** Whether this client removed that member in the last minute (and so rotates for it itself). */
  removedByThisClient(collectionId: string, userId: string): boolean {
    const at = this.removedHere.get(`${collectionId}\u0000${userId}`)
    return at !== undefined && Date.now() - at < 60_000
  }

  /**
   * Invites a user (by id or e-mail) with a role. Invited by id to an
   * encrypted collection, the invitation carries every epoch's key wrapped
   * for their public key (checked against the one this device knew), so
   * they read at once on accepting. By e-mail, a manager's client wraps
   * the keys once they accepted (`shareMissingKeys`, run by every sync).
   */
  async invite(collectionId: string, invitee: { userId: string } | { email: string }, role: Role): Promise<Invitation> {
    await this.deps.signedIn()
    const body: Record<string, unknown> = { collectionId, role, ...invitee }
    if ('userId' in invitee && (await this.deps.ring.isEncrypted(collectionId))) {
      const key = await this.deps.ring.publicKeyOf(invitee.userId)
      const account = await this.deps.ring.requireAccount()
      if (key) {
        await this.deps.ring.refresh(collectionId, { force: true })
        const keys = []
        for (const [epoch, held] of this.deps.ring.heldEpochs(collectionId)) {
          keys.push({ epoch, keyVersion: key.keyVersion, wrappedKey: await wrapCollectionKey(held.raw, { userId: invitee.userId, keyVersion: key.keyVersion, publicKey: key.publicKey }, { collectionId, epoch }, senderOf(account)) })
        }
        if (keys.length > 0) body.keys = keys
      }
    }
    return this.deps.rest.call<Invitation>({ method: 'POST', path: 'invitations', body })
  }

  /**
   * Wraps every epoch's key we hold for the members who lack it (new
   * members, members with a new public key). Only owners and admins may;
   * for others, and for plaintext collections, this does nothing. Returns
   * how many keys were added.
   */
  async shareMissingKeys(collectionId: string): Promise<number> {
    if (!(await this.deps.ring.isEncrypted(collectionId))) return 0
    let epochs: KeyEpoch[]
    try {
      epochs = await this.deps.rest.call<KeyEpoch[]>({ method: 'GET', path: `${base(collectionId)}/key-epochs` })
    } catch {
      return 0 // gone, or not a member any more: the sync loop says so
    }
    const needing = epochs.filter((epoch) => epoch.missing.length > 0)
    if (needing.length === 0) return 0
    await this.deps.ring.refresh(collectionId, { force: true })
    const held = new Map(this.deps.ring.heldEpochs(collectionId))
    let added = 0
    for (const epoch of needing) {
      const key = held.get(epoch.epoch)
      if (!key) continue
      const keys = await this.deps.ring.wrapForMembers(collectionId, epoch.epoch, key.raw, { only: epoch.missing })
      if (keys.length === 0) continue
      try {
        const rows = await this.deps.rest.call<unknown[]>({ method: 'POST', path: `${base(collectionId)}/keys`, body: { epoch: epoch.epoch, keys } })
        added += rows.length
      } catch (caught) {
        // A member left or changed key meanwhile: the next sync looks again.
        if (toRoostError(caught).code !== 409) throw caught
      }
    }
    return added
  }

  /**
   * Removes a member (or leaves, with your own id). In an encrypted
   * collection the key is then rotated, so what is written from now on is
   * out of their reach, and older records are re-encrypted. What they
   * downloaded before stays theirs: no protocol can take it back.
   */
  async removeMember(collectionId: string, userId: string): Promise<{ epoch: number | null; reencrypted: number }> {
    const me = await this.deps.signedIn()
    this.removedHere.set(`${collectionId}\u0000${userId}`, Date.now())
    for (const [key, at] of this.removedHere) if (Date.now() - at > 60_000) this.removedHere.delete(key)
    await this.deps.rest.call({ method: 'DELETE', path: `${base(collectionId)}/members/${encodeURIComponent(userId)}` })
    if (userId === me || !(await this.deps.ring.isEncrypted(collectionId))) return { epoch: null, reencrypted: 0 }
    return this.rotate(collectionId)
  }

  /**
   * A new key epoch, wrapped for every current member, made under an
   * exclusive Roost lock so two managers never rotate at once (and no
   * write lands halfway). The server refuses an epoch that misses a member
   * or names a stale epoch (409): then we look again and retry. Afterwards
   * the older records are re-encrypted under the new key.
   */
  async rotate(collectionId: string): Promise<{ epoch: number; reencrypted: number }> {
    return (await this.rotateUnlessPast(collectionId, Number.POSITIVE_INFINITY))!
  }

  /**
   * Someone left, or was removed by a device that may rotate itself: wait a
   * moment, then rotate unless the epoch already moved past `epoch` (the
   * one this device knew when it heard of the removal). So a removal is
   * followed by one rotation, whoever does it; a member who left on their
   * own gets one from the first manager online. Returns null when skipped.
   */
  async rotateAfterRemoval(collectionId: string, epoch: number, delayMs = 1500): Promise<{ epoch: number; reencrypted: number } | null> {
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    return this.rotateUnlessPast(collectionId, epoch)
  }

  private async rotateUnlessPast(collectionId: string, known: number): Promise<{ epoch: number; reencrypted: number } | null> {
    const account = await this.deps.ring.requireAccount()
    const lock = await this.deps.lock(collectionId, { mode: 'exclusive', ttlSeconds: 60, waitSeconds: 30 })
    let epoch = 0
    try {
      for (let attempt = 0; ; attempt++) {
        await this.deps.ring.refresh(collectionId, { force: true })
        if ((await this.deps.ring.currentEpoch(collectionId)) > known) return null
        epoch = (await this.deps.ring.currentEpoch(collectionId)) + 1
        const raw = globalThis.crypto.getRandomValues(new Uint8Array(32))
        const mine = await wrapCollectionKey(raw, { userId: account.userId, keyVersion: account.keyVersion, publicKey: account.keys.publicKey }, { collectionId, epoch }, senderOf(account))
        const others = await this.deps.ring.wrapForMembers(collectionId, epoch, raw, { except: account.userId })
        try {
          await this.deps.rest.call({
            method: 'POST',
            path: `${base(collectionId)}/key-epochs`,
            body: { epoch, keys: [{ userId: account.userId, keyVersion: account.keyVersion, wrappedKey: mine }, ...others] }
          })
          await this.deps.ring.addOwnKey(collectionId, epoch, raw, mine, account)
          break
        } catch (caught) {
          // Membership or epochs changed between our reads and the server's check: read again.
          if (toRoostError(caught).code !== 409 || attempt >= 4) throw caught
        }
      }
    } finally {
      await lock.release().catch(() => undefined)
    }
    return { epoch, reencrypted: await this.reencrypt(collectionId) }
  }

  /**
   * Re-encrypts, under the current epoch, every live record still sealed
   * under an older one: a batch per group of records, each put conditioned
   * on the version read, so a record written meanwhile is left alone (its
   * writer already used a newer key). Returns how many were re-encrypted.
   * Safe to run again, and by several clients at once.
   */
  async reencrypt(collectionId: string): Promise<number> {
    const { epoch: current, key } = await this.deps.ring.writeKey(collectionId)
    let done = 0
    for (let skip = 0; ; ) {
      const page = await this.deps.rest.call<{ total: number; data: ServerRecord[] }>({
        method: 'GET',
        path: `${base(collectionId)}/records`,
        query: { $limit: REENCRYPT_BATCH, $skip: skip }
      })
      const operations = []
      for (const record of page.data) {
        const ref = { collectionId, recordId: record.id }
        let epoch: number
        try {
          epoch = envelopeEpoch(ref, record.data)
        } catch {
          continue // not an envelope: tampered, reported by the pull; nothing to re-encrypt
        }
        if (epoch >= current) continue
        let data: Json
        try {
          data = await decryptRecord(await this.deps.ring.keyFor(collectionId, epoch), { ...ref, epoch }, record.data, this.deps.aes)
        } catch {
          continue
        }
        operations.push({ op: 'put' as const, collectionId, id: record.id, version: record.version, data: await encryptRecord(key, { ...ref, epoch: current, data }, this.deps.aes) })
      }
      done += await this.commitSkippingConflicts(operations)
      skip += page.data.length
      if (page.data.length === 0 || skip >= page.total) break
    }
    return done
  }

  /**
   * One batch (the engine's own upload: open, append in chunks, commit);
   * records that changed since they were read are dropped and the rest
   * committed again. Another rotation's exclusive lock is waited out.
   */
  private async commitSkippingConflicts(operations: Array<{ op: 'put'; collectionId: string; id: string; version: number; data: unknown }>): Promise<number> {
    let pending = operations
    let conflictsSeen = 0
    const until = Date.now() + 60_000
    while (pending.length > 0 && conflictsSeen < 5 && Date.now() < until) {
      const plan: BatchPlan = {
        batchId: uuid(),
        commitKey: uuid(),
        items: pending.map((operation) => ({ collectionId: operation.collectionId, id: operation.id, localVersion: 0, operation })),
        lockTokens: {}
      }
      let result: BatchResult
      try {
        result = await this.deps.runBatch(plan)
      } catch (caught) {
        if (toRoostError(caught).code !== 423) throw caught
        await this.deps.abortBatch(plan.batchId)
        await new Promise((resolve) => setTimeout(resolve, 250))
        continue
      }
      if (result.kind === 'committed') return pending.length
      await this.deps.abortBatch(plan.batchId)
      if (result.kind === 'conflicts') {
        conflictsSeen++
        const changed = new Set(result.conflicts.map((conflict) => conflict.id))
        pending = pending.filter((operation) => !changed.has(operation.id))
      }
    }
    return 0
  }
}
