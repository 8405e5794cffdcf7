import { TooManyRequests } from '@feathersjs/errors'
import type { Params, RealTimeConnection } from '@feathersjs/feathers'
import type { Application, HookContext } from '../declarations.js'

/**
 * At most `realtime.maxSocketsPerUser` authenticated socket.io connections
 * per user, counted across all of them in this process. Authenticating one
 * more fails with 429 (`data.retryAfterSeconds`: the time in which a dead
 * connection is noticed and its place freed); the connection itself stays
 * open but anonymous, hearing nothing, so the client decides (close it, or
 * try again later). A connection counts from its authentication until it
 * disconnects, signs out, or authenticates as someone else; authenticating
 * again as the same user (a token refresh) takes no new place. REST calls
 * have no connection and are not counted.
 *
 * Per instance, also with several: the cap protects the memory and file
 * handles of the process holding the sockets, which a count shared through
 * Redis would not do better (a user could still put them all on one
 * instance), while it would add a Redis call to every socket authentication
 * and entries an instance killed with SIGKILL leaves behind until they expire.
 */
export function limitSocketsPerUser(app: Application): void {
  const { maxSocketsPerUser, pingIntervalMilliseconds, pingTimeoutMilliseconds } = app.get('realtime')
  const retryAfterSeconds = Math.ceil((pingIntervalMilliseconds + pingTimeoutMilliseconds) / 1000)
  const userOf = new Map<RealTimeConnection, string>()
  const perUser = new Map<string, number>()
  // A connection can close while its authentication is still running: it must not take a place then.
  const gone = new WeakSet<RealTimeConnection>()

  const release = (connection: RealTimeConnection | undefined) => {
    const userId = connection === undefined ? undefined : userOf.get(connection)
    if (connection === undefined || userId === undefined) return
    userOf.delete(connection)
    const left = (perUser.get(userId) ?? 1) - 1
    if (left > 0) perUser.set(userId, left)
    else perUser.delete(userId)
  }

  // Runs inside Feathers' own authentication hooks, before the connection is
  // marked authenticated and `login` is announced: a refusal here leaves it anonymous.
  app.service('authentication').hooks({
    after: {
      create: [
        async (context: HookContext) => {
          const connection = (context.params as Params).connection as RealTimeConnection | undefined
          const userId = (context.result as { user?: { id?: string } } | undefined)?.user?.id
          if (connection === undefined || userId === undefined || gone.has(connection) || userOf.get(connection) === userId) return
          if ((perUser.get(userId) ?? 0) >= maxSocketsPerUser) {
            throw new TooManyRequests(`This user has ${maxSocketsPerUser} open socket connections already (realtime.maxSocketsPerUser)`, {
              limit: maxSocketsPerUser,
              retryAfterSeconds
            })
          }
          release(connection)
          userOf.set(connection, userId)
          perUser.set(userId, (perUser.get(userId) ?? 0) + 1)
        }
      ]
    }
  })
  app.on('logout', (_result: unknown, { connection }: { connection?: RealTimeConnection }) => release(connection))
  app.on('disconnect', (connection: RealTimeConnection) => {
    gone.add(connection)
    release(connection)
  })
}
