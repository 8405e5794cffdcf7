import { createServer, type Server } from 'node:http'
import type { Application } from './declarations.js'
import { trackRequests } from './shutdown.js'

/**
 * Sets the app up (migrations, transports) and only then accepts connections,
 * so no request ever reaches a database whose schema is not ready.
 * (Feathers' own `app.listen` listens first and sets up in parallel.)
 */
export async function listen(app: Application, port: number, host: string): Promise<Server> {
  const server = createServer(app.callback())
  app.server = server
  // Before socket.io attaches, so that REST requests are counted from their first moment.
  trackRequests(app, server)
  await app.setup(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
