import { authenticate } from '@feathersjs/authentication'
import type { Application } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { requireValidId } from '../../hooks/valid-id.js'
import { validateData, validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { SubscriptionService } from './subscriptions.class.js'
import { subscriptionDataValidator } from './subscriptions.schema.js'
import { subscriptionMethods, subscriptionPath } from './subscriptions.shared.js'

export const subscriptions = (app: Application) => {
  app.use(subscriptionPath, new SubscriptionService(app), { methods: [...subscriptionMethods], events: [] })
  app.service(subscriptionPath).hooks({
    around: {
      all: [authenticate('jwt'), noCrudEvents(), validateQuery(emptyQueryValidator), requireValidId()],
      create: [validateData(subscriptionDataValidator)]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [subscriptionPath]: SubscriptionService
  }
}
