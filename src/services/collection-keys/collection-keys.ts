import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection, type Permission } from '../../access.js'
import type { Application, HookContext } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireObject } from '../../hooks/one-or-many.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { CollectionKeyService } from './collection-keys.class.js'
import { collectionKeyQueryValidator, collectionKeysAddValidator } from './collection-keys.schema.js'
import { collectionKeyMethods, collectionKeyPath } from './collection-keys.shared.js'

/** Any member reads (the class narrows what a non-manager sees); adding keys needs `manage`. */
export const keyPermission = (context: HookContext): Permission => (context.method === 'create' ? 'manage' : 'read')

export const collectionKeys = (app: Application) => {
  app.use(collectionKeyPath, new CollectionKeyService(app), { methods: [...collectionKeyMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (404/403) → change.
  app.service(collectionKeyPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), requireValidId()],
      find: [validateQuery(collectionKeyQueryValidator), authorizeRouteCollection(keyPermission)],
      create: [validateQuery(emptyQueryValidator), requireObject(), validateData(collectionKeysAddValidator), authorizeRouteCollection(keyPermission), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [collectionKeyPath]: CollectionKeyService
  }
}
