import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection, routeCollectionOnly } from '../../access.js'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireBaseVersion } from '../../hooks/base-version.js'
import { versionETag } from '../../hooks/etag.js'
import { limitRecordSize } from '../../hooks/record-size.js'
import { oneOrMany, requireArray } from '../../hooks/one-or-many.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { atomicIdempotency } from '../../idempotency.js'
import { validateData, validateQuery } from '../../validation.js'
import { RecordService } from './records.class.js'
import {
  recordCreateValidator,
  recordPatchItemValidator,
  recordPatchValidator,
  recordQueryValidator,
  recordRemoveManyQueryValidator,
  recordUpdateValidator,
  recordWriteQueryValidator
} from './records.schema.js'
import { recordMethods, recordPath } from './records.shared.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'

export const records = (app: Application) => {
  app.use(recordPath, new RecordService(app), { methods: [...recordMethods], events: [] })
  // Order matters: who (401) → valid input (400) → may they (404/403; for writes, in storage's
  // transaction, after the preconditions) → preconditions (428/413) → write.
  app.service(recordPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), versionETag(), requireValidId({ multi: true })],
      find: [validateQuery(recordQueryValidator), authorizeRouteCollection()],
      get: [validateQuery(emptyQueryValidator), authorizeRouteCollection()],
      create: [validateQuery(emptyQueryValidator), validateData(recordCreateValidator), routeCollectionOnly(), limitRecordSize(), atomicIdempotency()],
      update: [validateQuery(recordWriteQueryValidator), validateData(recordUpdateValidator), routeCollectionOnly(), requireBaseVersion(), limitRecordSize(), atomicIdempotency()],
      patch: [
        oneOrMany(
          [validateQuery(recordWriteQueryValidator), validateData(recordPatchValidator), routeCollectionOnly(), requireBaseVersion()],
          [validateQuery(emptyQueryValidator), requireArray('{ id, data, version }'), validateData(recordPatchItemValidator), routeCollectionOnly()]
        ),
        limitRecordSize(),
        atomicIdempotency()
      ],
      remove: [
        oneOrMany(
          [validateQuery(recordWriteQueryValidator), routeCollectionOnly(), requireBaseVersion()],
          [validateQuery(recordRemoveManyQueryValidator), routeCollectionOnly()]
        ),
        atomicIdempotency()
      ]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [recordPath]: RecordService
  }
}
