import { MethodNotAllowed } from '@feathersjs/errors'
import type { Server } from 'socket.io'
import type { Application, HookContext, NextFunction } from './declarations.js'

/**
 * Feathers listens on a socket for the names of its services' methods only.
 * A call under any other event name (`constructor`, `setup`, a typo) found no
 * listener and was never answered: the client waited for its own timeout.
 * Answer it at once with the 405 REST gives for an unknown method. Set up
 * once the socket.io server exists (in app.setup).
 */
export const answerUnknownSocketEvents = (app: Application) => {
  app.hooks({
    setup: [
      async (context: HookContext, next: NextFunction) => {
        await next()
        const io = (context.app as unknown as { io?: Server }).io
        io?.on('connection', (socket) =>
          socket.onAny((event: unknown, ...args: unknown[]) => {
            const ack = args.at(-1)
            // Feathers put a listener on the socket for each method name; none means no method.
            if (typeof event === 'string' && typeof ack === 'function' && socket.listeners(event as never).length === 0) {
              ack(new MethodNotAllowed(`Method '${event}' is not a method of any service`).toJSON())
            }
          })
        )
      }
    ]
  })
}
