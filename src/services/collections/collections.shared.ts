import type { Paginated } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client.js'
import type { ChangeEvent, Collection, CollectionData, CollectionPatch, CollectionQuery } from './collections.schema.js'

export type { ChangeEvent, Collection, CollectionData, CollectionPatch, CollectionQuery }

export const collectionPath = 'collections'
export const collectionMethods = ['find', 'get', 'create', 'patch', 'remove'] as const
/** Custom realtime events besides created/patched/removed. */
export const collectionEvents = ['change', 'lock', 'member', 'keys'] as const

export const collectionClient = (client: ClientApplication) => {
  client.use(collectionPath, client.get('connection').service(collectionPath), {
    methods: [...collectionMethods],
    // On a client, `events` lists what arrives from the server rather than what
    // the client emits itself: the standard events as well as ours.
    events: ['created', 'updated', 'patched', 'removed', ...collectionEvents]
  })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [collectionPath]: {
      find(params?: { query?: CollectionQuery }): Promise<Paginated<Collection>>
      get(id: string): Promise<Collection>
      create(data: CollectionData): Promise<Collection>
      patch(id: string, data: CollectionPatch): Promise<Collection>
      remove(id: string): Promise<Collection>
    }
  }
}
