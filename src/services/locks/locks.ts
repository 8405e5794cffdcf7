import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection, type Permission } from '../../access.js'
import type { Application, HookContext } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { LockService } from './locks.class.js'
import { lockAcquireValidator, lockRemoveQueryValidator, lockRenewValidator, type LockRemoveQuery } from './locks.schema.js'
import { lockMethods, lockPath } from './locks.shared.js'

/**
 * Exclusive locks keep writers out, so taking one needs write access; a
 * shared lock only keeps exclusive locks out, so reading is enough. Renewing
 * and releasing touch only the caller's own lease; breaking someone else's
 * (`$break`) is for owners (storage checks it again in its transaction).
 */
const lockPermission = (context: HookContext): Permission => {
  if (context.method === 'remove' && (context.params.query as LockRemoveQuery | undefined)?.$break === true) return 'delete'
  return context.method === 'create' && (context.data as { mode?: string } | undefined)?.mode !== 'shared' ? 'write' : 'read'
}

export const locks = (app: Application) => {
  app.use(lockPath, new LockService(app), { methods: [...lockMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (404) → acquire.
  app.service(lockPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), requireValidId()],
      find: [validateQuery(emptyQueryValidator), authorizeRouteCollection()],
      get: [validateQuery(emptyQueryValidator), authorizeRouteCollection()],
      create: [validateQuery(emptyQueryValidator), validateData(lockAcquireValidator), authorizeRouteCollection(lockPermission)],
      patch: [validateQuery(emptyQueryValidator), validateData(lockRenewValidator), authorizeRouteCollection(lockPermission)],
      remove: [validateQuery(lockRemoveQueryValidator), authorizeRouteCollection(lockPermission)]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [lockPath]: LockService
  }
}
