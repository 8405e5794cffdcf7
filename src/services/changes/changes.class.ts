import type { Params } from '@feathersjs/feathers'
import { decodeCursor, encodeCursor } from '../../cursor.js'
import type { Application } from '../../declarations.js'
import type { ChangesPageResult, ChangesQuery } from './changes.schema.js'

/**
 * The change feed of one collection (/collections/:collectionId/changes).
 * Pull with `since` = the last cursor until `more` is false; see
 * docs/PROTOCOL.md for why this never misses a committed change.
 */
export class ChangeService {
  constructor(private readonly app: Application) {}

  async find(params: Params<ChangesQuery>): Promise<ChangesPageResult> {
    const collection = params.collection
    if (!collection) throw new Error('authorizeRouteCollection() must run before the changes service')
    const max = this.app.get('limits').changesPerPage
    const limit = Math.min(params.query?.limit ?? max, max)
    const since = decodeCursor(params.query?.since, collection)
    const page = await this.app.get('storage').changesSince(collection.id, { since, limit })
    const last = page.changes.at(-1)?.seq ?? since
    return { changes: page.changes, cursor: encodeCursor(collection, last), more: page.more }
  }
}
