import { describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor } from '../../../src/cursor.js'
import { LOCK_TOKEN_GAP } from '../../../src/storage/rules/restore.js'
import { rejection } from '../../helpers/storage.js'
import { at, create, fresh, range } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * After a restore from a backup (renewAfterRestore): every collection gets a
 * new feed epoch, so each cursor handed out before is refused (410) rather
 * than skipping what the restored collection numbers again; its fencing
 * tokens jump past any issued before and its leases end; the data stays.
 * Without the renewal the cursor of a client that was ahead of the backup is
 * accepted again as soon as new writes pass it, and the changes in between
 * are skipped: the check on `accepted` below is that control.
 */
export function restoreTests(ctx: SuiteContext): void {
  describe('after a restore', () => {
    const db = useStorage(ctx)
    const { newUser, commitOne, snapshot } = recordsKit(db)

    it('gives every collection a new epoch (old cursors: 410), ends leases, moves tokens on, and keeps records, positions and members', async () => {
      const bob = await newUser()
      // More collections than one page, so the paging is exercised (pageSize 2 below).
      const collections = await Promise.all(range(1, 5).map(() => db.storage.createCollection({ id: fresh('restore'), name: null, ownerId: db.owner.id }, at(0))))
      for (const [index, collection] of collections.entries()) {
        for (const n of range(0, index)) await commitOne(create(collection.id, `r${n}`, { n }))
      }
      const [locked] = collections
      await db.storage.putMember({ collectionId: locked.id, userId: bob.id, role: 'writer', at: at(1), actorId: db.owner.id })
      const lease = (await db.storage.acquireLock({ collectionId: locked.id, userId: db.owner.id, holder: 'laptop', mode: 'exclusive', expiresAt: at(10_000), now: at(1) })).lock
      const before = await Promise.all(collections.map((collection) => snapshot(collection.id)))
      const cursors = before.map(({ collection }) => encodeCursor(collection!, collection!.seq))
      // The control: an old cursor at the collection's position is still good without a renewal.
      expect(decodeCursor(cursors[4], before[4].collection!)).toBe(before[4].collection!.seq)

      expect(await db.storage.renewAfterRestore({ pageSize: 2 })).toEqual({ collections: 5, leasesEnded: 1 })

      for (const [index, collection] of collections.entries()) {
        const after = await snapshot(collection.id)
        expect(after.collection!.epoch).not.toBe(before[index].collection!.epoch)
        expect(after.collection!.epoch).toMatch(/^[A-Za-z0-9_-]{1,32}$/)
        expect(after).toEqual({ ...before[index], collection: { ...before[index].collection, epoch: after.collection!.epoch } })
        expect(() => decodeCursor(cursors[index], after.collection!)).toThrow(expect.objectContaining({ code: 410 }))
        expect(decodeCursor(encodeCursor(after.collection!, 0), after.collection!)).toBe(0)
      }
      const epochs = new Set((await Promise.all(collections.map((collection) => db.storage.getCollection(collection.id)))).map((collection) => collection!.epoch))
      expect(epochs.size).toBe(collections.length)
      expect((await db.storage.getMember(locked.id, bob.id))?.role).toBe('writer')

      // The lease is gone: its token writes nothing, and the next grant's token is past every one issued before.
      expect(await db.storage.listLocks(locked.id, at(2))).toEqual([])
      await rejection(db.storage.commitWrites([create(locked.id, 'fenced', {})], { actor: db.owner.id, at: at(2), lockTokens: { [locked.id]: lease.token } }), 'locked')
      const next = (await db.storage.acquireLock({ collectionId: locked.id, userId: bob.id, holder: 'phone', mode: 'exclusive', expiresAt: at(10_000), now: at(2) })).lock
      expect(next.token).toBe(lease.token + LOCK_TOKEN_GAP + 1)
    })

    it('is harmless to run again: each run renews again, and an empty page ends it', async () => {
      const collection = await db.storage.createCollection({ id: fresh('again'), name: null, ownerId: db.owner.id }, at(0))
      await commitOne(create(collection.id, 'a', {}))
      const first = await db.storage.renewAfterRestore()
      const between = (await db.storage.getCollection(collection.id))!
      const second = await db.storage.renewAfterRestore()
      expect(second).toEqual({ collections: first.collections, leasesEnded: 0 })
      const after = (await db.storage.getCollection(collection.id))!
      expect(after).toEqual({ ...between, epoch: expect.any(String) })
      expect(after.epoch).not.toBe(between.epoch)
      expect(after.seq).toBe(1)
    })
  })
}
