import { authenticate } from '@feathersjs/authentication'
import { BadRequest } from '@feathersjs/errors'
import { authorizeRouteCollection } from '../../access.js'
import type { Application, HookContext, NextFunction } from '../../declarations.js'
import { noCrudEvents } from '../../hooks/no-events.js'
import { validateQuery } from '../../validation.js'
import { emptyQueryValidator } from '../collections/collections.schema.js'
import { ExportService, type ExportDownload } from './export.class.js'
import { contentDisposition } from './export.lines.js'
import { collectionExportPath, EXPORT_CONTENT_TYPE, exportAllPath, exportMethods } from './export.shared.js'

/** A download, not a message: over socket.io there is nothing to stream it into. */
const restOnly = async (context: HookContext, next: NextFunction) => {
  if (context.params.provider !== undefined && context.params.provider !== 'rest') {
    throw new BadRequest('Export is a download over REST only: GET /export or GET /collections/:collectionId/export')
  }
  await next()
}

/**
 * The innermost hook: over REST the body is the NDJSON stream itself
 * (`context.dispatch`, which Koa pipes to the response and, if the stream
 * fails, destroys the connection), with the download's headers. Internal
 * callers get find's ExportDownload.
 */
const asDownload = async (context: HookContext<ExportService>, next: NextFunction) => {
  await next()
  if (context.params.provider !== 'rest') return
  const download = context.result as ExportDownload
  context.http = {
    ...context.http,
    headers: {
      ...context.http?.headers,
      'Content-Type': EXPORT_CONTENT_TYPE,
      'Content-Disposition': contentDisposition(download.filename),
      'Cache-Control': 'no-store'
    }
  }
  ;(context as HookContext).dispatch = download.body
}

export const exportData = (app: Application) => {
  app.use(exportAllPath, new ExportService(app), { methods: [...exportMethods], events: [] })
  app.use(collectionExportPath, new ExportService(app), { methods: [...exportMethods], events: [] })
  // Order: who (401) → which transport (400) → valid input (400) → may they (404) → stream.
  app.service(exportAllPath).hooks({
    around: { all: [authenticate('jwt'), noCrudEvents()], find: [restOnly, validateQuery(emptyQueryValidator), asDownload] }
  })
  app.service(collectionExportPath).hooks({
    around: { all: [authenticate('jwt'), noCrudEvents()], find: [restOnly, validateQuery(emptyQueryValidator), authorizeRouteCollection(), asDownload] }
  })
}

declare module '../../declarations.js' {
  interface ServiceTypes {
    [exportAllPath]: ExportService
    [collectionExportPath]: ExportService
  }
}
