import type { Server } from 'node:http'
import { createApp } from './app.js'
import type { Application } from './declarations.js'
import { listen } from './listen.js'
import { createLogger } from './logger.js'
import { shutDown } from './shutdown.js'
import { redact } from './storage/knex/connection.js'

/** `npm start`: serve Roost until SIGINT/SIGTERM, then stop cleanly (shutdown.ts). */
async function main(): Promise<{ app: Application; server: Server }> {
  const app = createApp()
  const logger = app.get('logger')
  const host = app.get('host')
  const server = await listen(app, app.get('port'), host)
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : app.get('port')
  const database = redact(app.get('databaseUrl')) || `${app.get('dataDir')}/roost.sqlite`
  const readReplica = redact(app.get('databaseReadUrl')) || undefined
  logger.info({ backend: app.get('storage').backend, database, readReplica, port }, `Roost listening on http://${host}:${port}`)
  return { app, server }
}

function stopOnSignals({ app, server }: { app: Application; server: Server }) {
  const logger = app.get('logger')
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      const timeoutSeconds = app.get('shutdownTimeoutSeconds')
      logger.info({ timeoutSeconds }, `${signal}: shutting down`)
      // The last resort: whatever still runs after the timeout is abandoned.
      setTimeout(() => {
        logger.error({ timeoutSeconds }, 'shutdown did not finish within shutdownTimeoutSeconds: exiting anyway')
        process.exit(1)
      }, timeoutSeconds * 1000).unref()
      shutDown(app, server).then(
        () => {
          logger.info('stopped')
          process.exit(0)
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        }
      )
    })
  }
}

// Anything that escapes every handler is a bug: logged as JSON like the rest, then the process ends.
process.on('uncaughtException', (error) => fatal(error, 'uncaught exception'))
process.on('unhandledRejection', (error) => fatal(error, 'unhandled rejection'))

main().then(stopOnSignals, (error: unknown) => {
  // Operators see why (a wrong setting, an unreachable database); there is no client to protect here.
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ''
  fatal(error, `Roost could not start: ${error instanceof Error ? error.message : String(error)}${cause}`)
})

/** Logs with a logger of its own (the app's may not exist yet), then exits. */
function fatal(error: unknown, message: string): never {
  createLogger('fatal').fatal({ err: error }, message)
  process.exit(1)
}
