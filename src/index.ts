import { createApp } from './app.js'
import type { Application } from './declarations.js'
import { listen } from './listen.js'
import { redact } from './storage/knex/connection.js'

/** `npm start`: serve Roost until SIGINT/SIGTERM, then close cleanly. */
async function main(): Promise<Application> {
  const app = createApp()
  const logger = app.get('logger')
  const host = app.get('host')
  const server = await listen(app, app.get('port'), host)
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : app.get('port')
  const database = redact(app.get('databaseUrl')) || `${app.get('dataDir')}/roost.sqlite`
  logger.info({ backend: app.get('storage').backend, database }, `Roost listening on http://${host}:${port}`)
  return app
}

function shutdownOn(app: Application) {
  const logger = app.get('logger')
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      logger.info(`${signal}: shutting down`)
      app.teardown().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        }
      )
    })
  }
}

main().then(shutdownOn, (error: unknown) => {
  // Operators see why (a wrong setting, an unreachable database); there is no client to protect here.
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ''
  console.error(`Roost could not start: ${error instanceof Error ? error.message : String(error)}${cause}`)
  process.exit(1)
})
