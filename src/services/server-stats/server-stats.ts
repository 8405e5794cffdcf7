import { authenticate } from '@feathersjs/authentication'
import { Forbidden } from '@feathersjs/errors'
import { requireUser } from '../../access.js'
import type { Application, HookContext, NextFunction } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { ServerStatsService } from './server-stats.class.js'
import { serverStatsMethods, serverStatsPath } from './server-stats.shared.js'

/**
 * Only users whose e-mail is in the `operators` setting (lower-cased, as
 * users' e-mails are stored): everyone else signed in gets 403 "operators
 * only". The list is read on every call, so it is the configuration's at
 * start and nothing else.
 */
export const operatorsOnly = () => async (context: HookContext, next: NextFunction) => {
  const user = requireUser(context.params)
  if (!context.app.get('operators').includes(user.email.toLowerCase())) throw new Forbidden('operators only')
  await next()
}

export const serverStats = (app: Application) => {
  app.use(serverStatsPath, new ServerStatsService(app), { methods: [...serverStatsMethods], events: [] })
  // Order: who (401) → may they (403) → valid input (400) → counts.
  app.service(serverStatsPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents()],
      find: [operatorsOnly(), validateQuery(emptyQueryValidator)]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [serverStatsPath]: ServerStatsService
  }
}
