import type { Params } from '@feathersjs/feathers'
import { decodeCursor, encodeCursor } from '../../cursor.js'
import type { Application } from '../../declarations.js'
import { recordOfChange } from '../../storage/changes.js'
import type { StoredChange } from '../../storage/types.js'
import type { ChangesPageResult, ChangesQuery } from './changes.schema.js'

/** A page as storage gives it: each record's data still the stored JSON text (StoredChange). */
export interface StoredChangesPage {
  changes: StoredChange[]
  cursor: string
  more: boolean
}

/**
 * The change feed of one collection (/collections/:collectionId/changes).
 * Pull with `since` = the last cursor until `more` is false; see
 * docs/PROTOCOL.md for why this never misses a committed change.
 */
export class ChangeService {
  constructor(private readonly app: Application) {}

  /** The page with every record's data parsed: what socket.io and internal callers get (REST: changes.rest.ts). */
  async find(params: Params<ChangesQuery>): Promise<ChangesPageResult> {
    const page = await this.storedPage(params)
    return { changes: page.changes.map(recordOfChange), cursor: page.cursor, more: page.more }
  }

  /**
   * The same page, the data of its records left as stored JSON text. Not a
   * service method (no transport reaches it, no hooks run on it): only for
   * callers that have already run find's hooks.
   */
  async storedPage(params: Params<ChangesQuery>): Promise<StoredChangesPage> {
    const collection = params.collection
    if (!collection) throw new Error('authorizeRouteCollection() must run before the changes service')
    const max = this.app.get('limits').changesPerPage
    const limit = Math.min(params.query?.limit ?? max, max)
    const since = decodeCursor(params.query?.since, collection)
    // horizon: the collection's position as the authorization read it from the primary; a read replica serves the page only from a state that includes it.
    const page = await this.app.get('storage').changesSince(collection.id, { since, limit, horizon: collection.seq })
    const last = page.changes.at(-1)?.seq ?? since
    return { changes: page.changes, cursor: encodeCursor(collection, last), more: page.more }
  }
}
