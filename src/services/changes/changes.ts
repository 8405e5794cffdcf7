import { authenticate } from '@feathersjs/authentication'
import { authorizeRouteCollection } from '../../access.js'
import type { Application } from '../../declarations.js'
import { validateQuery } from '../../validation.js'
import { ChangeService } from './changes.class.js'
import { restPageAsStoredJson } from './changes.rest.js'
import { changesQueryValidator } from './changes.schema.js'
import { changeMethods, changePath } from './changes.shared.js'

export const changes = (app: Application) => {
  app.use(changePath, new ChangeService(app), { methods: [...changeMethods], events: [] })
  app.service(changePath).hooks({
    around: {
      find: [authenticate('jwt'), validateQuery(changesQueryValidator), authorizeRouteCollection(), restPageAsStoredJson]
    }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [changePath]: ChangeService
  }
}
