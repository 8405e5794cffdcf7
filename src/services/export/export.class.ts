import { Readable } from 'node:stream'
import type { Params } from '@feathersjs/feathers'
import { GeneralError } from '@feathersjs/errors'
import { requireUser } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { isStorageError } from '../../storage/index.js'
import type { ChangesPage, CollectionWithRole } from '../../storage/types.js'
import { exportFilename, headerLine, recordLine } from './export.lines.js'
import type { ExportCollection, ExportHeader } from './export.schema.js'

/** What find gives: a file name and the NDJSON body, produced as it is read. */
export interface ExportDownload {
  filename: string
  header: ExportHeader
  body: Readable
}

/**
 * Export (GET /export, GET /collections/:collectionId/export): every record
 * and tombstone of the caller's collections (or of one) as NDJSON, read page
 * by page from each collection's change feed, so memory holds one page
 * (`limits.changesPerPage` records), never a collection. The feed is
 * gap-free and gives each record once, in its latest state, per pass; a
 * record changed while the export runs may come again later with a higher
 * version, and the last line of an id is the one that counts.
 *
 * Everything that can fail cheaply happens before the first byte (who, which
 * collections, the first page), so those failures are ordinary JSON errors.
 * A failure after that (the database gone, the caller's access to a
 * collection ended, the collection deleted or replaced) errors the stream,
 * and Koa destroys the connection: the download fails rather than ending
 * clean but short.
 */
export class ExportService {
  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  async find(params: Params): Promise<ExportDownload> {
    const user = requireUser(params)
    const one = params.collection
    const collections = one === undefined ? await this.memberCollections(user.id) : [one]
    const listed: ExportCollection[] = []
    const kept: CollectionWithRole[] = []
    for (const collection of collections) {
      const encrypted = await this.isEncrypted(collection.id, user.id, one !== undefined)
      // Gone since it was listed (deleted, or the caller removed): not part of this export.
      if (encrypted === undefined) continue
      listed.push({ id: collection.id, name: collection.name, role: collection.role, encrypted, ownerId: collection.ownerId })
      kept.push(collection)
    }
    const exportedAt = nowIso(this.app)
    const header: ExportHeader = { format: 'roost-export', version: 1, exportedAt, collections: listed }
    const pageSize = this.app.get('limits').changesPerPage
    // The first page before the first byte: a database that does not answer is a 503, not a cut download.
    const first = kept.length === 0 ? undefined : await this.storage.changesSince(kept[0].id, { since: 0, limit: pageSize })
    const body = Readable.from(this.lines(header, kept, user.id, first, pageSize), { objectMode: false, highWaterMark: 64 * 1024 })
    return { filename: exportFilename(one?.id ?? 'all', exportedAt), header, body }
  }

  private async *lines(header: ExportHeader, collections: CollectionWithRole[], userId: string, first: ChangesPage | undefined, pageSize: number): AsyncGenerator<string> {
    yield headerLine(header)
    for (const [index, collection] of collections.entries()) {
      let since = 0
      let page = index === 0 ? first : undefined
      for (;;) {
        if (page === undefined) {
          await this.stillReadable(collection, userId)
          page = await this.storage.changesSince(collection.id, { since, limit: pageSize })
        }
        for (const change of page.changes) yield recordLine(change)
        since = page.changes.at(-1)?.seq ?? since
        if (!page.more) break
        page = undefined
      }
    }
  }

  /**
   * Before each page after the first: the collection is the same incarnation
   * (its epoch) and the caller still a member. Otherwise the export stops
   * with an error, which cuts the download.
   */
  private async stillReadable(collection: CollectionWithRole, userId: string): Promise<void> {
    const access = await this.storage.getCollectionAccess(collection.id, userId)
    if (access === undefined || access.role === undefined || access.collection.epoch !== collection.epoch) {
      throw new GeneralError(`Collection "${collection.id}" was deleted, or your access to it ended, during the export`)
    }
  }

  /** Every collection the user is a member of, page by page, ordered by id. */
  private async memberCollections(userId: string): Promise<CollectionWithRole[]> {
    const limit = this.app.get('paginate').max
    const all: CollectionWithRole[] = []
    for (let skip = 0; ; skip += limit) {
      const page = await this.storage.listCollections({ memberId: userId, limit, skip })
      all.push(...page.data)
      if (page.data.length < limit || all.length >= page.total) return all
    }
  }

  /**
   * Whether the collection has key epochs; undefined when it is gone or no
   * longer the caller's (for /export, which listed it a moment before). For
   * one collection that was just authorized, such a race is an error as usual.
   */
  private async isEncrypted(collectionId: string, userId: string, single: boolean): Promise<boolean | undefined> {
    try {
      return (await this.storage.listKeyEpochs(collectionId, userId)).length > 0
    } catch (error) {
      if (!single && isStorageError(error) && (error.kind === 'not-found' || error.kind === 'forbidden')) return undefined
      throw error
    }
  }
}
