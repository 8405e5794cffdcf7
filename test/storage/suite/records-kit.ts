import { randomUUID } from 'node:crypto'
import { recordOfChange } from '../../../src/storage/changes.js'
import type { RecordWrite, StoredCollection, StoredRecord, StoredUser, WriteContext } from '../../../src/storage/types.js'
import { context, now } from './builders.js'
import type { Fixture } from './context.js'

/** The helpers the record, feed and collection tests share, over one fixture's storage. */
export function recordsKit(db: Fixture) {
  const newUser = (): Promise<StoredUser> => db.storage.createUser({ email: `user-${randomUUID()}@example.com`, password: 'hash' }, now())

  const newCollection = (ownerId = db.owner.id, name: string | null = 'things'): Promise<StoredCollection> =>
    db.storage.createCollection({ id: `c-${randomUUID()}`, name, ownerId }, now())

  const commit = (writes: RecordWrite[], ctx: WriteContext = context(db.owner.id)) => db.storage.commitWrites(writes, ctx)

  /** Commits one write and returns the record it produced. */
  const commitOne = async (write: RecordWrite, ctx?: WriteContext): Promise<StoredRecord> => (await commit([write], ctx)).records[0]

  const seqOf = async (collectionId: string): Promise<number> => (await db.storage.getCollection(collectionId))!.seq

  /** Everything observable about a collection, to prove a failed commit applied nothing. */
  const snapshot = async (collectionId: string) => ({
    collection: await db.storage.getCollection(collectionId),
    changes: (await db.storage.changesSince(collectionId, { since: 0, limit: 100_000 })).changes.map(recordOfChange)
  })

  /** Every change of a collection, read a page at a time. */
  const allChanges = async (collectionId: string, limit = 1000): Promise<StoredRecord[]> => {
    const changes: StoredRecord[] = []
    for (let since = 0; ; ) {
      const page = await db.storage.changesSince(collectionId, { since, limit })
      changes.push(...page.changes.map(recordOfChange))
      if (!page.more) return changes
      since = page.changes[page.changes.length - 1].seq
    }
  }

  return { newUser, newCollection, commit, commitOne, seqOf, snapshot, allChanges }
}
