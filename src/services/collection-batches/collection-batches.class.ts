import type { Params } from '@feathersjs/feathers'
import { allows, requireUser } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import type { OpenBatchSummary } from '../../storage/types.js'
import type { CollectionBatch } from './collection-batches.schema.js'
import { COLLECTION_BATCHES_LIMIT } from './collection-batches.shared.js'

/**
 * The open batches touching one collection (/collections/:collectionId/batches),
 * for a dashboard: what is staged and not yet committed. The hooks have
 * authorized the caller as a member (`params.collection`). Owners and admins
 * see everyone's batches (they manage the collection); other members only
 * their own, since a batch is its user's business until it commits. Only
 * counts and times: never the staged data.
 */
export class CollectionBatchService {
  constructor(private readonly app: Application) {}

  async find(params: Params): Promise<CollectionBatch[]> {
    const target = params.collection
    if (!target) throw new Error('authorizeRouteCollection() must run before the collection-batches service')
    const user = requireUser(params)
    const batches = await this.app.get('storage').listOpenBatches({
      collectionId: target.id,
      userId: allows(target.role, 'manage') ? undefined : user.id,
      now: nowIso(this.app),
      limit: COLLECTION_BATCHES_LIMIT
    })
    return batches.map(toCollectionBatch)
  }
}

const toCollectionBatch = (batch: OpenBatchSummary): CollectionBatch => ({ ...batch })
