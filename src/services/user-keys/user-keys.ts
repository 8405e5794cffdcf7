import { authenticate } from '@feathersjs/authentication'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireObject } from '../../hooks/one-or-many.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { UserKeyService } from './user-keys.class.js'
import { userKeyPatchValidator, userKeyUpdateValidator } from './user-keys.schema.js'
import { userKeyMethods, userKeyPath } from './user-keys.shared.js'

export const userKeys = (app: Application) => {
  // No events: a key change concerns the collections its owner is in, whose managers learn of it from `missing`.
  app.use(userKeyPath, new UserKeyService(app), { methods: [...userKeyMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (403, in the class) → change.
  app.service(userKeyPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), requireValidId()],
      get: [validateQuery(emptyQueryValidator)],
      update: [validateQuery(emptyQueryValidator), requireObject(), validateData(userKeyUpdateValidator), idempotent()],
      patch: [validateQuery(emptyQueryValidator), requireObject(), validateData(userKeyPatchValidator), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [userKeyPath]: UserKeyService
  }
}
