import { describe, expect, it } from 'vitest'
import { context, create, update } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * Schema: migrating is safe to repeat, and a second instance on the same
 * database (a restart, another server) sees the same data.
 */

export function schemaTests(ctx: SuiteContext): void {
  describe('schema', () => {
    const db = useStorage(ctx)
    const { newCollection, commitOne } = recordsKit(db)

    it('names its backend', () => {
      expect(db.storage.backend).toBe(ctx.capabilities.backend)
    })

    it('migrate() is safe to call again, and keeps the data', async () => {
      const collection = await newCollection()
      const record = await commitOne(create(collection.id, 'kept', { a: 1 }))
      await db.storage.migrate()
      await db.storage.migrate()
      expect(await db.storage.getUser(db.owner.id)).toEqual(db.owner)
      expect(await db.storage.getCollection(collection.id)).toMatchObject({ id: collection.id, seq: 1 })
      expect(await db.storage.getRecord(collection.id, 'kept')).toEqual(record)
      // And the schema still works for writes.
      expect(await commitOne(update(collection.id, 'kept', { a: 2 }, 1))).toMatchObject({ version: 2, seq: 2 })
    })

    it('a second instance on the same database migrates and sees the same data (a restart)', async () => {
      const collection = await newCollection()
      const record = await commitOne(create(collection.id, 'shared', 'hello'))
      const again = db.open()
      try {
        await again.migrate()
        expect(await again.getCollection(collection.id)).toMatchObject({ id: collection.id, epoch: collection.epoch, seq: 1 })
        expect(await again.getRecord(collection.id, 'shared')).toEqual(record)
        const next = (await again.commitWrites([update(collection.id, 'shared', 'world', 1)], context(db.owner.id))).records[0]
        expect(await db.storage.getRecord(collection.id, 'shared')).toEqual(next)
      } finally {
        await again.close()
      }
    })
  })
}
