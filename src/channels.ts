import type { RealTimeConnection } from '@feathersjs/feathers'
import { can, readersOf } from './access.js'
import type { Application, AuthenticatedUser } from './declarations.js'
import type { Collection } from './services/collections/collections.schema.js'
import type { StoredCollection } from './storage/types.js'

/**
 * Who hears what over socket.io:
 * - every authenticated connection is in `users/<userId>`: it hears about its
 *   user's collections being created, renamed or deleted;
 * - a connection that subscribed to a collection (the `subscriptions`
 *   service) is in `collections/<id>` and hears its `change` events, but only
 *   while its user may still read the collection: checked on every event;
 * - `lock` events (acquired / released / expired) go to every connection of
 *   everyone who may read the collection, subscribed or not: a device must
 *   learn that it lost its lease even when it is not following changes.
 * Nothing is published to anonymous connections.
 */
export const userChannel = (userId: string) => `users/${userId}`
export const collectionChannel = (collectionId: string) => `collections/${collectionId}`

type Connection = RealTimeConnection & { user?: AuthenticatedUser }

export const channels = (app: Application) => {
  app.on('connection', (connection: Connection) => {
    app.channel('anonymous').join(connection)
  })

  app.on('login', (result: { user?: AuthenticatedUser }, { connection }: { connection?: Connection }) => {
    if (!connection || !result.user) return
    app.channel('anonymous').leave(connection)
    app.channel(userChannel(result.user.id)).join(connection)
  })

  app.on('logout', (_result: unknown, { connection }: { connection?: Connection }) => {
    if (connection && app.channels.length > 0) app.channel(app.channels).leave(connection)
  })

  const collections = app.service('collections')

  // CollectionService.announceChanges passes the collection as the context.
  collections.publish('change', (_event, context) => {
    const { collection } = context as unknown as { collection?: StoredCollection }
    if (!collection) return undefined
    return app
      .channel(collectionChannel(collection.id))
      .filter((connection: Connection) => can(connection.user, collection, 'read'))
  })

  // LockService passes the collection as the context, as for changes.
  collections.publish('lock', (_event, context) => {
    const { collection } = context as unknown as { collection?: StoredCollection }
    if (!collection) return undefined
    return app
      .channel(...readersOf(collection).map(userChannel))
      .filter((connection: Connection) => can(connection.user, collection, 'read'))
  })

  // A deleted collection's subscribers leave its channel: a collection created
  // again under the same id must be subscribed to afresh.
  collections.on('removed', (collection: Collection) => {
    const channel = app.channel(collectionChannel(collection.id))
    channel.leave(...channel.connections)
  })

  for (const event of ['created', 'patched', 'removed'] as const) {
    collections.publish(event, (collection) => app.channel(userChannel((collection as Collection).ownerId)))
  }
}
