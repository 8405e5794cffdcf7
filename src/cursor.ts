import { BadRequest, Gone } from '@feathersjs/errors'
import type { StoredCollection } from './storage/types.js'

/**
 * Change-feed cursors. Opaque to clients; inside they are
 * `<position>.<epoch>`: the change position of the last change seen and the
 * collection's epoch, which changes when a collection is deleted and created
 * again under the same id, and after a restore from a backup (`npm run
 * after-restore`). An old cursor then fails with 410 instead of silently
 * skipping the changes that now carry the positions it had seen.
 */
export const encodeCursor = (collection: Pick<StoredCollection, 'epoch'>, seq: number): string =>
  `${seq}.${collection.epoch}`

/** The position a cursor stands for; no cursor means the beginning (0). */
export function decodeCursor(cursor: string | undefined, collection: StoredCollection, field = 'query.since'): number {
  if (cursor === undefined || cursor === '') return 0
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,32})$/.exec(cursor)
  if (!match) throw new BadRequest(`"${field}" is not a cursor returned by this server`)
  const [, seq, epoch] = match
  if (epoch !== collection.epoch || Number(seq) > collection.seq) {
    throw new Gone(
      'This cursor is from an earlier collection with this id, from before a restore of the database, or from another server; pull again from the beginning (without "since")',
      { reason: 'stale-cursor' }
    )
  }
  return Number(seq)
}
