import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection, type Permission } from '../../access.js'
import type { Application, HookContext } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { MemberService } from './members.class.js'
import { memberAddValidator, memberPatchValidator, memberQueryValidator } from './members.schema.js'
import { memberMethods, memberPath } from './members.shared.js'

/** Adding and changing members needs `manage`; removing needs only membership here (leaving), the class checks the rest. */
const memberPermission = (context: HookContext): Permission => (context.method === 'create' || context.method === 'patch' ? 'manage' : 'read')

export const members = (app: Application) => {
  app.use(memberPath, new MemberService(app), { methods: [...memberMethods], events: [] })
  // Order: who (401) → valid input (400) → may they (404/403) → change.
  app.service(memberPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), requireValidId()],
      find: [validateQuery(memberQueryValidator), authorizeRouteCollection()],
      get: [validateQuery(emptyQueryValidator), authorizeRouteCollection()],
      create: [validateQuery(emptyQueryValidator), validateData(memberAddValidator), authorizeRouteCollection(memberPermission), idempotent()],
      patch: [validateQuery(emptyQueryValidator), validateData(memberPatchValidator), authorizeRouteCollection(memberPermission), idempotent()],
      remove: [validateQuery(emptyQueryValidator), authorizeRouteCollection(memberPermission), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [memberPath]: MemberService
  }
}
