import { createApp } from './app.js'
import { listen } from './listen.js'
import { redact } from './storage/knex/connection.js'

/** `npm start`: serve Roost until SIGINT/SIGTERM, then close cleanly. */
const app = createApp()
const logger = app.get('logger')
const host = app.get('host')

const server = await listen(app, app.get('port'), host)
const address = server.address()
const port = typeof address === 'object' && address ? address.port : app.get('port')
logger.info(
  { backend: app.get('storage').backend, database: redact(app.get('databaseUrl')) || `${app.get('dataDir')}/roost.sqlite` },
  `Roost listening on http://${host}:${port}`
)

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
