import { authenticate } from '@feathersjs/authentication'
import type { Application } from '../../declarations.js'
import { normaliseDataEmail } from '../../hooks/normalise-email.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { InvitationService } from './invitations.class.js'
import { invitationAnswerValidator, invitationCreateValidator, invitationQueryValidator } from './invitations.schema.js'
import { invitationMethods, invitationPath } from './invitations.shared.js'

export const invitations = (app: Application) => {
  app.use(invitationPath, new InvitationService(app), { methods: [...invitationMethods] })
  app.service(invitationPath).hooks({
    around: {
      all: [authenticate('jwt'), requireValidId()],
      find: [validateQuery(invitationQueryValidator)],
      get: [validateQuery(emptyQueryValidator)],
      create: [validateQuery(emptyQueryValidator), normaliseDataEmail(), validateData(invitationCreateValidator), idempotent()],
      patch: [validateQuery(emptyQueryValidator), validateData(invitationAnswerValidator), idempotent()],
      remove: [validateQuery(emptyQueryValidator), idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [invitationPath]: InvitationService
  }
}
