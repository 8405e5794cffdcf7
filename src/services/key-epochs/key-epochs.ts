import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection } from '../../access.js'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireObject } from '../../hooks/one-or-many.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { keyPermission } from '../collection-keys/collection-keys.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { KeyEpochService } from './key-epochs.class.js'
import { keyEpochCreateValidator } from './key-epochs.schema.js'
import { keyEpochMethods, keyEpochPath } from './key-epochs.shared.js'

export const keyEpochs = (app: Application) => {
  app.use(keyEpochPath, new KeyEpochService(app), { methods: [...keyEpochMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (404/403) → change.
  app.service(keyEpochPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), requireValidId()],
      find: [validateQuery(emptyQueryValidator), authorizeRouteCollection(keyPermission)],
      create: [validateQuery(emptyQueryValidator), requireObject(), validateData(keyEpochCreateValidator), authorizeRouteCollection(keyPermission), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [keyEpochPath]: KeyEpochService
  }
}
