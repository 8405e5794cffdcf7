import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection } from '../../access.js'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { CollectionBatchService } from './collection-batches.class.js'
import { collectionBatchMethods, collectionBatchPath } from './collection-batches.shared.js'

export const collectionBatches = (app: Application) => {
  app.use(collectionBatchPath, new CollectionBatchService(app), { methods: [...collectionBatchMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (404) → list.
  app.service(collectionBatchPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents()],
      find: [validateQuery(emptyQueryValidator), authorizeRouteCollection()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [collectionBatchPath]: CollectionBatchService
  }
}
