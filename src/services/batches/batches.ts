import { authenticate } from '@feathersjs/authentication'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { idempotent } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { BatchService } from './batches.class.js'
import { batchAppendValidator, batchCommitValidator, batchOpenValidator } from './batches.schema.js'
import { batchMethods, batchPath } from './batches.shared.js'

export const batches = (app: Application) => {
  app.use(batchPath, new BatchService(app), { methods: [...batchMethods], events: [] })
  app.service(batchPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), validateQuery(emptyQueryValidator), requireValidId()],
      create: [validateData(batchOpenValidator), idempotent()],
      append: [validateData(batchAppendValidator), idempotent()],
      commit: [validateData(batchCommitValidator), idempotent()],
      remove: [idempotent()]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [batchPath]: BatchService
  }
}
