import { describe, expect, it } from 'vitest'
import type { StoredCollection, StoredUser, WrappedKeyInput } from '../../../src/storage/types.js'
import { rejection } from '../../helpers/storage.js'
import { at, fresh } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { sharingKit } from './sharing-kit.js'

/**
 * End-to-end encryption keys (KeysPort): users' public keys by
 * compare-and-set; key epochs checked, in the transaction with the
 * collection taken, against the members as they are (so an epoch never
 * silently leaves out a member added meanwhile); wrapped keys added, healed,
 * listed by role; and what removing a member, deleting a collection and
 * accepting an invitation do to keys. The values are opaque to storage:
 * these are made up.
 */

export function keysTests(ctx: SuiteContext): void {
  describe('encryption keys', () => {
    const db = useStorage(ctx)
    const { newUser, newCollection, addMember, invite } = sharingKit(db)
    const ROUNDS = 5

    const publicKey = (n: number): string => `pk-${n}`.padEnd(43, 'A')
    const wrap = (label: string) => ({ v: 1, enc: label.padEnd(43, 'e'), c: label.padEnd(64, 'c') })
    const passphraseWrap = { v: 1, kdf: 'argon2id', salt: 's'.repeat(22), m: 19456, t: 2, p: 1, n: 'n'.repeat(16), c: 'c'.repeat(64) }

    /** Gives the user a key of version 1 (or the next one). */
    const giveKey = async (user: StoredUser, when = at(5)) => {
      const current = await db.storage.getUserKey(user.id)
      return db.storage.putUserKey({ userId: user.id, publicKey: publicKey((current?.keyVersion ?? 0) + 1), baseKeyVersion: current?.keyVersion ?? 0, at: when })
    }
    const keyFor = (user: StoredUser, keyVersion = 1, label = user.id): WrappedKeyInput => ({ userId: user.id, keyVersion, wrappedKey: wrap(label) })

    /** A collection with an owner and members of the given roles, everyone with a key. */
    const team = async (...roles: Array<'admin' | 'writer' | 'reader'>): Promise<{ collection: StoredCollection; owner: StoredUser; members: StoredUser[] }> => {
      const owner = await newUser()
      await giveKey(owner)
      const collection = await newCollection(owner)
      const members: StoredUser[] = []
      for (const role of roles) {
        const member = await newUser()
        await giveKey(member)
        await addMember(collection, member, role)
        members.push(member)
      }
      return { collection, owner, members }
    }
    const everyone = (t: { owner: StoredUser; members: StoredUser[] }) => [t.owner, ...t.members]

    const startEpoch = (collection: StoredCollection, actor: StoredUser, epoch: number, keys: WrappedKeyInput[], when = at(20)) =>
      db.storage.createKeyEpoch({ collectionId: collection.id, epoch, keys, actorId: actor.id, at: when })
    const addKeys = (collection: StoredCollection, actor: StoredUser, epoch: number, keys: WrappedKeyInput[], when = at(30)) =>
      db.storage.addCollectionKeys({ collectionId: collection.id, epoch, keys, actorId: actor.id, at: when })
    const allKeys = async (collection: StoredCollection, actor: StoredUser) =>
      (await db.storage.listCollectionKeys(collection.id, { actorId: actor.id, limit: 1000, skip: 0 })).data
    const sorted = (ids: string[]): string[] => [...ids].sort()

    // -------------------------------------------------------------------------
    // Account public keys
    // -------------------------------------------------------------------------

    it('putUserKey creates version 1, replaces by compare-and-set, and refuses a stale base with the current key', async () => {
      const alice = await newUser()
      expect(await db.storage.getUserKey(alice.id)).toBeUndefined()
      const first = await db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(1), baseKeyVersion: 0, passphraseWrap, at: at(1) })
      expect(first).toEqual({ userId: alice.id, publicKey: publicKey(1), keyVersion: 1, passphraseWrap, createdAt: at(1), updatedAt: at(1) })
      expect(await db.storage.getUserKey(alice.id)).toEqual(first)

      const conflict = await rejection(db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(9), baseKeyVersion: 0, at: at(2) }), 'conflict')
      expect(conflict.data).toEqual({ current: first })

      // A replacement without a passphrase copy has none: the old copy wraps the old secret.
      const second = await db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(2), baseKeyVersion: 1, at: at(3) })
      expect(second).toEqual({ userId: alice.id, publicKey: publicKey(2), keyVersion: 2, passphraseWrap: null, createdAt: at(1), updatedAt: at(3) })
      expect(await db.storage.getUserKey(alice.id)).toEqual(second)
      expect((await rejection(db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(3), baseKeyVersion: 1, at: at(4) }), 'conflict')).data).toEqual({
        current: second
      })
      expect((await rejection(db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(3), baseKeyVersion: 5, at: at(4) }), 'conflict')).data).toEqual({
        current: second
      })

      const nobody = await newUser()
      expect((await rejection(db.storage.putUserKey({ userId: nobody.id, publicKey: publicKey(1), baseKeyVersion: 1, at: at(4) }), 'conflict')).data).toEqual({
        current: null
      })
      await rejection(db.storage.putUserKey({ userId: fresh('no-such-user'), publicKey: publicKey(1), baseKeyVersion: 0, at: at(4) }), 'not-found')
      expect(await db.storage.getUserKey(fresh('no-such-user'))).toBeUndefined()
    })

    it('two first keys at once: exactly one is version 1, the other a conflict', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const alice = await newUser()
        const results = await Promise.allSettled([1, 2].map((n) => db.storage.putUserKey({ userId: alice.id, publicKey: publicKey(n), baseKeyVersion: 0, at: at(1) })))
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        const [failure] = results.filter((result) => result.status === 'rejected')
        expect(failure.reason).toMatchObject({ kind: 'conflict', data: { current: { keyVersion: 1 } } })
      }
    })

    it('setPassphraseWrap sets and clears only the passphrase copy; no key yet: not-found', async () => {
      const alice = await newUser()
      await rejection(db.storage.setPassphraseWrap({ userId: alice.id, passphraseWrap, at: at(1) }), 'not-found')
      const key = await giveKey(alice, at(2))
      const wrapped = await db.storage.setPassphraseWrap({ userId: alice.id, passphraseWrap, at: at(3) })
      expect(wrapped).toEqual({ ...key, passphraseWrap, updatedAt: at(3) })
      expect(await db.storage.getUserKey(alice.id)).toEqual(wrapped)
      const cleared = await db.storage.setPassphraseWrap({ userId: alice.id, passphraseWrap: null, at: at(4) })
      expect(cleared).toEqual({ ...key, passphraseWrap: null, updatedAt: at(4) })
      expect(await db.storage.getUserKey(alice.id)).toEqual(cleared)
    })

    // -------------------------------------------------------------------------
    // Epochs
    // -------------------------------------------------------------------------

    it('createKeyEpoch starts epoch 1 with a key for every member who has a public key (not those without)', async () => {
      const t = await team('admin', 'reader')
      const keyless = await newUser()
      await addMember(t.collection, keyless, 'writer')
      const keys = everyone(t).map((user) => keyFor(user))
      const result = await startEpoch(t.collection, t.owner, 1, keys)
      const epoch = { collectionId: t.collection.id, epoch: 1, createdBy: t.owner.id, createdAt: at(20), missing: [] }
      expect(result.epoch).toEqual(epoch)
      expect(result.keys).toEqual(
        sorted(everyone(t).map((user) => user.id)).map((userId) => ({
          collectionId: t.collection.id,
          epoch: 1,
          userId,
          keyVersion: 1,
          wrappedKey: wrap(userId),
          wrappedBy: t.owner.id,
          createdAt: at(20)
        }))
      )
      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([epoch])
      expect(await allKeys(t.collection, t.owner)).toEqual(result.keys)

      // An admin starts the next.
      const second = await startEpoch(t.collection, t.members[0], 2, keys, at(21))
      expect(second.epoch).toMatchObject({ epoch: 2, createdBy: t.members[0].id })
      expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).map((row) => row.epoch)).toEqual([1, 2])
    })

    it('createKeyEpoch refuses a taken or skipped epoch (epoch-taken, with the current one), and writes nothing', async () => {
      const t = await team('writer')
      const keys = everyone(t).map((user) => keyFor(user))
      for (const epoch of [0, 2]) {
        expect((await rejection(startEpoch(t.collection, t.owner, epoch, keys), 'conflict')).data).toEqual({ reason: 'epoch-taken', currentEpoch: 0 })
      }
      await startEpoch(t.collection, t.owner, 1, keys)
      for (const epoch of [1, 3]) {
        expect((await rejection(startEpoch(t.collection, t.owner, epoch, keys, at(21)), 'conflict')).data).toEqual({ reason: 'epoch-taken', currentEpoch: 1 })
      }
      expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).map((row) => row.epoch)).toEqual([1])
      expect((await allKeys(t.collection, t.owner)).every((key) => key.createdAt === at(20))).toBe(true)
    })

    it('createKeyEpoch refuses keys that are not exactly the members with a public key (members-changed), and writes nothing', async () => {
      const t = await team('writer', 'reader')
      const [writer, reader] = t.members
      const outsider = await newUser()
      await giveKey(outsider)

      const lacking = await rejection(startEpoch(t.collection, t.owner, 1, [keyFor(t.owner), keyFor(writer)]), 'conflict')
      expect(lacking.data).toEqual({ reason: 'members-changed', missing: [reader.id], notMembers: [] })
      const extra = await rejection(startEpoch(t.collection, t.owner, 1, [...everyone(t).map((user) => keyFor(user)), keyFor(outsider)]), 'conflict')
      expect(extra.data).toEqual({ reason: 'members-changed', missing: [], notMembers: [outsider.id] })
      const both = await rejection(startEpoch(t.collection, t.owner, 1, [keyFor(t.owner), keyFor(writer), keyFor(outsider)]), 'conflict')
      expect(both.data).toEqual({ reason: 'members-changed', missing: [reader.id], notMembers: [outsider.id] })
      // A user twice is a malformed request.
      await rejection(startEpoch(t.collection, t.owner, 1, [...everyone(t).map((user) => keyFor(user)), keyFor(reader)]), 'invalid')

      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([])
      expect(await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
    })

    it("createKeyEpoch refuses keys made for a user's old public key (stale-key), and writes nothing", async () => {
      const t = await team('writer', 'reader')
      const [writer, reader] = t.members
      await giveKey(writer) // now version 2
      await giveKey(reader)
      const error = await rejection(startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user, 1))), 'conflict')
      expect(error.data).toEqual({ reason: 'stale-key', userIds: sorted([writer.id, reader.id]) })
      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([])
      expect(await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
      const ok = await startEpoch(t.collection, t.owner, 1, [keyFor(t.owner, 1), keyFor(writer, 2), keyFor(reader, 2)])
      expect(ok.keys).toHaveLength(3)
    })

    it('createKeyEpoch is for owners and admins: writers and readers forbidden, non-members and missing collections not found', async () => {
      const t = await team('writer', 'reader')
      const stranger = await newUser()
      const keys = everyone(t).map((user) => keyFor(user))
      for (const [actor, role] of [
        [t.members[0], 'writer'],
        [t.members[1], 'reader']
      ] as const) {
        const error = await rejection(startEpoch(t.collection, actor, 1, keys), 'forbidden')
        expect(error.access).toEqual({ collectionId: t.collection.id, role, needs: 'admin' })
      }
      expect((await rejection(startEpoch(t.collection, stranger, 1, keys), 'forbidden')).access?.role).toBeUndefined()
      await rejection(db.storage.createKeyEpoch({ collectionId: fresh('missing'), epoch: 1, keys, actorId: t.owner.id, at: at(20) }), 'not-found')
      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([])
    })

    // -------------------------------------------------------------------------
    // Adding keys
    // -------------------------------------------------------------------------

    it('addCollectionKeys adds keys for members, skips a row of the same keyVersion, replaces an older one', async () => {
      const t = await team('admin', 'writer')
      const [admin, writer] = t.members
      await startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user)))
      const late = await newUser()
      await addMember(t.collection, late, 'reader')
      await giveKey(late)

      const added = await addKeys(t.collection, admin, 1, [keyFor(late)])
      expect(added).toEqual([{ collectionId: t.collection.id, epoch: 1, userId: late.id, keyVersion: 1, wrappedKey: wrap(late.id), wrappedBy: admin.id, createdAt: at(30) }])
      // Two managers healing the same member: the second is skipped, not an error, and not returned.
      expect(await addKeys(t.collection, t.owner, 1, [keyFor(late, 1, 'again')], at(31))).toEqual([])
      expect((await allKeys(t.collection, t.owner)).find((key) => key.userId === late.id)).toEqual(added[0])

      // The writer replaces their key: their row of version 1 is replaced by one of version 2.
      await giveKey(writer)
      const healed = await addKeys(t.collection, t.owner, 1, [keyFor(writer, 2, 'new'), keyFor(late, 1, 'again')], at(32))
      expect(healed).toEqual([{ collectionId: t.collection.id, epoch: 1, userId: writer.id, keyVersion: 2, wrappedKey: wrap('new'), wrappedBy: t.owner.id, createdAt: at(32) }])
      const rows = await allKeys(t.collection, t.owner)
      expect(rows).toHaveLength(4)
      expect(rows.find((key) => key.userId === writer.id)).toEqual(healed[0])
    })

    it('addCollectionKeys: a missing epoch is not found; non-members (members-changed) and old keys (stale-key) refused, nothing written', async () => {
      const t = await team('writer')
      const [writer] = t.members
      const outsider = await newUser()
      await giveKey(outsider)
      await rejection(addKeys(t.collection, t.owner, 1, [keyFor(writer)]), 'not-found')
      await startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user)))
      await rejection(addKeys(t.collection, t.owner, 2, [keyFor(writer)]), 'not-found')

      await giveKey(writer)
      expect((await rejection(addKeys(t.collection, t.owner, 1, [keyFor(writer, 2), keyFor(outsider)]), 'conflict')).data).toEqual({
        reason: 'members-changed',
        notMembers: [outsider.id]
      })
      expect((await rejection(addKeys(t.collection, t.owner, 1, [keyFor(writer, 1)]), 'conflict')).data).toEqual({ reason: 'stale-key', userIds: [writer.id] })
      expect((await allKeys(t.collection, t.owner)).find((key) => key.userId === writer.id)?.keyVersion).toBe(1)
      // Managers only.
      expect((await rejection(addKeys(t.collection, writer, 1, [keyFor(writer, 2)]), 'forbidden')).access?.needs).toBe('admin')
      await rejection(db.storage.addCollectionKeys({ collectionId: fresh('missing'), epoch: 1, keys: [], actorId: t.owner.id, at: at(30) }), 'not-found')
    })

    // -------------------------------------------------------------------------
    // Reading
    // -------------------------------------------------------------------------

    it('listKeyEpochs: `missing` (members with a public key and no key for their current version) for managers, [] for others', async () => {
      const t = await team('admin', 'writer', 'reader')
      const [admin, writer, reader] = t.members
      await startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user)))
      const late = await newUser()
      await addMember(t.collection, late, 'reader')
      const keyless = await newUser()
      await addMember(t.collection, keyless, 'reader')
      await giveKey(late) // joined after epoch 1: missing
      await giveKey(writer) // a new key: their row of epoch 1 no longer counts

      const expected = [{ collectionId: t.collection.id, epoch: 1, createdBy: t.owner.id, createdAt: at(20), missing: sorted([late.id, writer.id]) }]
      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual(expected)
      expect(await db.storage.listKeyEpochs(t.collection.id, admin.id)).toEqual(expected)
      for (const member of [writer, reader, late]) {
        expect(await db.storage.listKeyEpochs(t.collection.id, member.id)).toEqual([{ ...expected[0], missing: [] }])
      }
      await addKeys(t.collection, admin, 1, [keyFor(late), keyFor(writer, 2)])
      expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id))[0].missing).toEqual([])

      const stranger = await newUser()
      expect((await rejection(db.storage.listKeyEpochs(t.collection.id, stranger.id), 'forbidden')).access?.role).toBeUndefined()
      await rejection(db.storage.listKeyEpochs(fresh('missing'), t.owner.id), 'not-found')
      // A collection with no epochs is not encrypted.
      expect(await db.storage.listKeyEpochs((await newCollection(t.owner)).id, t.owner.id)).toEqual([])
    })

    it('listCollectionKeys: ordered by (epoch, userId), filtered, paged; non-managers see only their own rows', async () => {
      const t = await team('admin', 'writer', 'reader')
      const [admin, writer, reader] = t.members
      const keys = everyone(t).map((user) => keyFor(user))
      await startEpoch(t.collection, t.owner, 1, keys)
      await startEpoch(t.collection, t.owner, 2, keys, at(21))
      const userIds = sorted(everyone(t).map((user) => user.id))
      const order = [1, 2].flatMap((epoch) => userIds.map((userId) => [epoch, userId]))

      const all = await db.storage.listCollectionKeys(t.collection.id, { actorId: admin.id, limit: 100, skip: 0 })
      expect(all.total).toBe(8)
      expect(all.data.map((key) => [key.epoch, key.userId])).toEqual(order)
      const pages = [0, 3, 6].map((skip) => db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, limit: 3, skip }))
      const paged = await Promise.all(pages)
      expect(paged.map((page) => page.total)).toEqual([8, 8, 8])
      expect(paged.flatMap((page) => page.data)).toEqual(all.data)
      expect(await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, limit: 0, skip: 0 })).toEqual({ total: 8, data: [] })

      const epoch2 = await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, epoch: 2, limit: 100, skip: 0 })
      expect(epoch2.data.map((key) => [key.epoch, key.userId])).toEqual(order.slice(4))
      const readers = await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, userId: reader.id, limit: 100, skip: 0 })
      expect(readers.data.map((key) => [key.epoch, key.userId])).toEqual([
        [1, reader.id],
        [2, reader.id]
      ])
      expect((await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, userId: reader.id, epoch: 1, limit: 100, skip: 0 })).total).toBe(1)

      // A writer: their own rows, asked for or not; another's: forbidden (needs admin).
      const own = await db.storage.listCollectionKeys(t.collection.id, { actorId: writer.id, limit: 100, skip: 0 })
      expect(own.total).toBe(2)
      expect(own.data.every((key) => key.userId === writer.id)).toBe(true)
      expect(await db.storage.listCollectionKeys(t.collection.id, { actorId: writer.id, userId: writer.id, limit: 100, skip: 0 })).toEqual(own)
      const error = await rejection(db.storage.listCollectionKeys(t.collection.id, { actorId: writer.id, userId: reader.id, limit: 100, skip: 0 }), 'forbidden')
      expect(error.access).toEqual({ collectionId: t.collection.id, role: 'writer', needs: 'admin' })

      const stranger = await newUser()
      expect((await rejection(db.storage.listCollectionKeys(t.collection.id, { actorId: stranger.id, limit: 10, skip: 0 }), 'forbidden')).access?.role).toBeUndefined()
      await rejection(db.storage.listCollectionKeys(fresh('missing'), { actorId: t.owner.id, limit: 10, skip: 0 }), 'not-found')
    })

    // -------------------------------------------------------------------------
    // Removal, deletion, invitations
    // -------------------------------------------------------------------------

    it("removeMember (and leaving) deletes that member's keys of that collection only", async () => {
      const t = await team('writer', 'reader')
      const [writer, reader] = t.members
      const other = await newCollection(t.owner)
      await addMember(other, writer, 'reader')
      const keys = everyone(t).map((user) => keyFor(user))
      await startEpoch(t.collection, t.owner, 1, keys)
      await startEpoch(t.collection, t.owner, 2, keys, at(21))
      await startEpoch(other, t.owner, 1, [keyFor(t.owner), keyFor(writer)])

      await db.storage.removeMember({ collectionId: t.collection.id, userId: writer.id, actorId: t.owner.id, at: at(40) })
      await db.storage.removeMember({ collectionId: t.collection.id, userId: reader.id, actorId: reader.id, at: at(41) })
      expect((await allKeys(t.collection, t.owner)).map((key) => [key.epoch, key.userId])).toEqual([
        [1, t.owner.id],
        [2, t.owner.id]
      ])
      expect((await allKeys(other, t.owner)).map((key) => key.userId)).toEqual(sorted([t.owner.id, writer.id]))
      // The next epoch leaves them out.
      await startEpoch(t.collection, t.owner, 3, [keyFor(t.owner)], at(42))
    })

    it('deleteCollection deletes its epochs and keys; a collection of the same id starts unencrypted', async () => {
      const t = await team('writer')
      const other = await newCollection(t.owner)
      await startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user)))
      await startEpoch(other, t.owner, 1, [keyFor(t.owner)])
      await db.storage.deleteCollection({ id: t.collection.id, actorId: t.owner.id })
      const again = await newCollection(t.owner, t.collection.id)
      expect(await db.storage.listKeyEpochs(again.id, t.owner.id)).toEqual([])
      expect(await db.storage.listCollectionKeys(again.id, { actorId: t.owner.id, limit: 10, skip: 0 })).toEqual({ total: 0, data: [] })
      await startEpoch(again, t.owner, 1, [keyFor(t.owner)])
      expect(await allKeys(other, t.owner)).toHaveLength(1)
      // Users' public keys stay.
      expect(await db.storage.getUserKey(t.owner.id)).toMatchObject({ keyVersion: 1 })
    })

    it('an invitation carries keys (keyEpochs); accepting adds those of existing epochs made for the current key, and drops the rest', async () => {
      const t = await team()
      const bob = await newUser()
      await giveKey(bob)
      await startEpoch(t.collection, t.owner, 1, [keyFor(t.owner)])
      await startEpoch(t.collection, t.owner, 2, [keyFor(t.owner)], at(21))
      const carried = [
        { epoch: 1, keyVersion: 1, wrappedKey: wrap('bob-1') },
        { epoch: 2, keyVersion: 1, wrappedKey: wrap('bob-2') },
        // An epoch that does not exist (yet, or ever): dropped.
        { epoch: 7, keyVersion: 1, wrappedKey: wrap('bob-7') }
      ]
      const invitation = await invite(t.collection, t.owner, { user: bob }, { keys: carried })
      expect(invitation.keyEpochs).toEqual([1, 2, 7])
      expect((await db.storage.getInvitation(invitation.id, at(11)))?.keyEpochs).toEqual([1, 2, 7])
      expect((await db.storage.listInvitations({ collectionId: t.collection.id, now: at(11), limit: 10, skip: 0 })).data[0].keyEpochs).toEqual([1, 2, 7])

      await db.storage.answerInvitation({ id: invitation.id, answer: 'accepted', userId: bob.id, at: at(50) })
      const bobs = (await db.storage.listCollectionKeys(t.collection.id, { actorId: bob.id, limit: 10, skip: 0 })).data
      expect(bobs).toEqual([1, 2].map((epoch) => ({ collectionId: t.collection.id, epoch, userId: bob.id, keyVersion: 1, wrappedKey: wrap(`bob-${epoch}`), wrappedBy: t.owner.id, createdAt: at(50) })))
      expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).map((row) => row.missing)).toEqual([[], []])
    })

    it("accepting drops carried keys made for the invitee's old key; declining adds none; only invitations by user id carry keys", async () => {
      const t = await team()
      const bob = await newUser()
      await giveKey(bob)
      await startEpoch(t.collection, t.owner, 1, [keyFor(t.owner)])
      const stale = await invite(t.collection, t.owner, { user: bob }, { keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrap('old') }] })
      await giveKey(bob) // version 2: the carried key can no longer be opened
      await db.storage.answerInvitation({ id: stale.id, answer: 'accepted', userId: bob.id, at: at(50) })
      expect(await db.storage.getMember(t.collection.id, bob.id)).toMatchObject({ role: 'writer' })
      expect((await db.storage.listCollectionKeys(t.collection.id, { actorId: bob.id, limit: 10, skip: 0 })).total).toBe(0)
      expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id))[0].missing).toEqual([bob.id])

      const carol = await newUser()
      await giveKey(carol)
      const declined = await invite(t.collection, t.owner, { user: carol }, { keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrap('carol') }] })
      await db.storage.answerInvitation({ id: declined.id, answer: 'declined', userId: carol.id, at: at(51) })
      expect((await db.storage.listCollectionKeys(t.collection.id, { actorId: t.owner.id, userId: carol.id, limit: 10, skip: 0 })).total).toBe(0)

      // Keys go with an invitation by user id only.
      await rejection(invite(t.collection, t.owner, { email: 'someone@example.com' }, { keys: [{ epoch: 1, keyVersion: 1, wrappedKey: wrap('x') }] }), 'invalid')
      // Without keys: none carried.
      expect((await invite(t.collection, t.owner, { user: carol })).keyEpochs).toEqual([])
    })

    // -------------------------------------------------------------------------
    // Races
    // -------------------------------------------------------------------------

    it('two managers starting the same epoch at once: exactly one wins, the other is refused epoch-taken', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const t = await team('admin', 'writer')
        const keys = everyone(t).map((user) => keyFor(user))
        const results = await Promise.allSettled([startEpoch(t.collection, t.owner, 1, keys), startEpoch(t.collection, t.members[0], 1, keys)])
        const won = results.filter((result) => result.status === 'fulfilled')
        const lost = results.filter((result) => result.status === 'rejected')
        expect(won).toHaveLength(1)
        expect(lost).toHaveLength(1)
        expect(lost[0].reason).toMatchObject({ kind: 'conflict', data: { reason: 'epoch-taken', currentEpoch: 1 } })
        const epochs = await db.storage.listKeyEpochs(t.collection.id, t.owner.id)
        expect(epochs).toHaveLength(1)
        expect(epochs[0].missing).toEqual([])
        expect(await allKeys(t.collection, t.owner)).toHaveLength(3)
      }
    })

    it('two managers healing the same member at once both succeed, leaving one row', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const t = await team('admin')
        await startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user)))
        const late = await newUser()
        await giveKey(late)
        await addMember(t.collection, late, 'reader')
        const [a, b] = await Promise.all([addKeys(t.collection, t.owner, 1, [keyFor(late, 1, 'a')]), addKeys(t.collection, t.members[0], 1, [keyFor(late, 1, 'b')])])
        // One wrote the row, the other found it there.
        expect([a.length, b.length].sort()).toEqual([0, 1])
        const rows = (await allKeys(t.collection, t.owner)).filter((key) => key.userId === late.id)
        expect(rows).toEqual([...a, ...b])
        expect((await db.storage.listKeyEpochs(t.collection.id, t.owner.id))[0].missing).toEqual([])
      }
    })

    it('an epoch racing a member being removed never leaves a key of the removed member', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const t = await team('writer')
        const [writer] = t.members
        const [epoch, removed] = await Promise.allSettled([
          startEpoch(t.collection, t.owner, 1, everyone(t).map((user) => keyFor(user))),
          db.storage.removeMember({ collectionId: t.collection.id, userId: writer.id, actorId: t.owner.id, at: at(20) })
        ])
        expect(removed.status).toBe('fulfilled')
        if (epoch.status === 'rejected') expect(epoch.reason).toMatchObject({ kind: 'conflict', data: { reason: 'members-changed', notMembers: [writer.id] } })
        expect((await allKeys(t.collection, t.owner)).map((key) => key.userId)).toEqual(epoch.status === 'fulfilled' ? [t.owner.id] : [])
      }
    })

    it('a member added a moment ago: an epoch made without them (a client that had not seen it) is refused members-changed', async () => {
      const t = await team('writer')
      const keys = everyone(t).map((user) => keyFor(user))
      const newcomer = await newUser()
      await giveKey(newcomer)
      await addMember(t.collection, newcomer, 'reader', at(19))
      expect((await rejection(startEpoch(t.collection, t.owner, 1, keys), 'conflict')).data).toEqual({ reason: 'members-changed', missing: [newcomer.id], notMembers: [] })
      expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([])
    })

    it('an epoch racing a member being added either covers the new member, or fails members-changed, or committed first and lists them as missing', async () => {
      for (let round = 0; round < ROUNDS * 2; round++) {
        const t = await team('writer')
        const newcomer = await newUser()
        await giveKey(newcomer)
        const keys = everyone(t).map((user) => keyFor(user))
        // Half the rounds the manager's client already knew of the newcomer (it saw the member event first).
        const withNewcomer = round % 2 === 1
        const [epoch, added] = await Promise.allSettled([
          startEpoch(t.collection, t.owner, 1, withNewcomer ? [...keys, keyFor(newcomer)] : keys),
          addMember(t.collection, newcomer, 'reader', at(20))
        ])
        expect(added.status).toBe('fulfilled')
        if (epoch.status === 'fulfilled') {
          expect(epoch.value.keys.map((key) => key.userId)).toEqual(sorted(withNewcomer ? [...everyone(t), newcomer].map((user) => user.id) : everyone(t).map((user) => user.id)))
          // Committed first without them: then they are missing, which a manager's client heals.
          const [row] = await db.storage.listKeyEpochs(t.collection.id, t.owner.id)
          expect(row.missing).toEqual(withNewcomer ? [] : [newcomer.id])
          if (!withNewcomer) expect(epoch.value.keys.some((key) => key.userId === newcomer.id)).toBe(false)
        } else {
          expect(epoch.reason).toMatchObject({ kind: 'conflict', data: { reason: 'members-changed' } })
          expect(await db.storage.listKeyEpochs(t.collection.id, t.owner.id)).toEqual([])
        }
      }
    })
  })
}
