import { BadRequest, NotFound } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import { authorizeCollection } from '../../access.js'
import { collectionChannel } from '../../channels.js'
import { encodeCursor } from '../../cursor.js'
import type { Application } from '../../declarations.js'
import type { Subscription, SubscriptionData } from './subscriptions.schema.js'

/**
 * Which collections a realtime connection hears `collections change` events
 * for. Each subscription joins the connection to the collection's channel
 * after checking the user may read it; the channel's publisher checks again
 * on every event, so losing access stops the events.
 */
export class SubscriptionService {
  constructor(private readonly app: Application) {}

  async find(params: Params): Promise<string[]> {
    const connection = realtime(params)
    return this.app.channels
      .filter((name) => name.startsWith('collections/') && this.app.channel(name).connections.includes(connection))
      .map((name) => name.slice('collections/'.length))
  }

  async create(data: SubscriptionData, params: Params): Promise<Subscription> {
    const connection = realtime(params)
    const collection = await authorizeCollection(this.app.get('storage'), params.user, data.collectionId, 'read')
    this.app.channel(collectionChannel(collection.id)).join(connection)
    return { collectionId: collection.id, cursor: encodeCursor(collection, collection.seq) }
  }

  async remove(collectionId: string, params: Params): Promise<{ collectionId: string }> {
    const connection = realtime(params)
    const channel = this.app.channel(collectionChannel(String(collectionId)))
    if (!channel.connections.includes(connection)) throw new NotFound(`Not subscribed to "${collectionId}"`)
    channel.leave(connection)
    return { collectionId: String(collectionId) }
  }
}

const realtime = (params: Params): RealTimeConnection => {
  if (!params.connection) throw new BadRequest('Subscriptions need a realtime (socket.io) connection')
  return params.connection
}
