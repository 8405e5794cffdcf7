import { authenticate } from '@feathersjs/authentication'
import type { Application } from '../../declarations.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { CollectionService } from './collections.class.js'
import {
  collectionDataValidator,
  collectionPatchValidator,
  collectionQueryValidator,
  emptyQueryValidator
} from './collections.schema.js'
import { collectionEvents, collectionMethods, collectionPath } from './collections.shared.js'

export const collections = (app: Application) => {
  app.use(collectionPath, new CollectionService(app), { methods: [...collectionMethods], events: [...collectionEvents] })
  app.service(collectionPath).hooks({
    around: {
      all: [authenticate('jwt'), requireValidId()],
      find: [validateQuery(collectionQueryValidator)],
      get: [validateQuery(emptyQueryValidator)],
      create: [validateQuery(emptyQueryValidator), validateData(collectionDataValidator), idempotent()],
      patch: [validateQuery(emptyQueryValidator), validateData(collectionPatchValidator), idempotent()],
      remove: [validateQuery(emptyQueryValidator), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [collectionPath]: CollectionService
  }
}
