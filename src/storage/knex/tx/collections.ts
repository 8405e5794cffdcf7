import type { CollectionsTx, TakenCollection } from '../../backend.js'
import { StorageError } from '../../errors.js'
import type { MemberRole, StoredCollection } from '../../types.js'
import { collectionFromRow, type CollectionRow } from '../rows.js'
import * as sql from '../sql/collections.js'
import { SELECT_ROLE } from '../sql/members.js'
import { execute, rowsOf, select, selectPair } from '../statements.js'

export const collectionsTx: CollectionsTx = {
  /**
   * One UPDATE takes the collection (sql/collections.ts, TAKE_COLLECTION),
   * and the role is read by a statement of its own after it: on PostgreSQL
   * that statement has its own snapshot, taken once the UPDATE has the row
   * lock, so it sees a membership change that committed while the UPDATE
   * waited (such changes take the same row first).
   */
  *takeCollection(id, { positions = 0, lockToken = false, roleOf } = {}) {
    const take = rowsOf(sql.TAKE_COLLECTION, [positions, lockToken ? 1 : 0, id])
    const [[row], roles] =
      roleOf === undefined
        ? [yield* select<CollectionRow>(take.sql, take.bindings), []]
        : yield* selectPair<CollectionRow, { role: string }>(take, rowsOf(SELECT_ROLE, [id, roleOf]))
    if (row === undefined) return undefined
    const taken: TakenCollection = {
      collection: collectionFromRow(row),
      lockSeq: Number(row.lock_seq),
      role: roles[0]?.role as MemberRole | undefined
    }
    return taken
  },

  *insertCollection(collection: StoredCollection) {
    const { id, name, ownerId, epoch, seq, createdAt, updatedAt } = collection
    yield* execute(sql.INSERT_COLLECTION, [id, name, ownerId, epoch, seq, createdAt, updatedAt])
  },

  *setCollectionName(id, name, at) {
    const [row] = yield* select<CollectionRow>(sql.RENAME_COLLECTION, [name, at, id])
    if (row === undefined) throw new StorageError('not-found', `Collection ${id} does not exist`)
    return collectionFromRow(row)
  },

  *deleteCollection(id) {
    let deleted = 0
    for (const statement of sql.DELETE_COLLECTION) deleted = yield* execute(statement, [id])
    // The last statement deleted the collection itself.
    if (deleted === 0) throw new StorageError('not-found', `Collection ${id} does not exist`)
  },

  *collectionIdsAfter(after, limit) {
    const rows =
      after === null
        ? yield* select<{ id: string }>(sql.SELECT_COLLECTION_IDS, [limit])
        : yield* select<{ id: string }>(sql.SELECT_COLLECTION_IDS_AFTER, [after, limit])
    return rows.map((row) => row.id)
  },

  *renewCollection(id, { epoch, lockTokenGap }) {
    return (yield* execute(sql.RENEW_COLLECTION, [epoch, lockTokenGap, id])) > 0
  }
}
