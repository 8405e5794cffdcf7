import { createServer, type Server } from 'node:http'
import type { Application } from './declarations.js'

/**
 * Sets the app up (migrations, transports) and only then accepts connections,
 * so no request ever reaches a database whose schema is not ready.
 * (Feathers' own `app.listen` listens first and sets up in parallel.)
 */
export async function listen(app: Application, port: number, host: string): Promise<Server> {
  const server = createServer(app.callback())
  app.server = server
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
