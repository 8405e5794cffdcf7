import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'

/**
 * What every log line written while serving one REST request or one
 * socket.io call carries. Kept in AsyncLocalStorage (not a child logger on
 * params) so that loggers made long before the request — storage's and
 * knex's, the sweeper's — stamp it too: logger.ts reads it in pino's `mixin`.
 */
export interface RequestContext {
  requestId: string
  /** The socket.io connection a call came over (socket.id). */
  connectionId?: string
  /** Set by the first service call of the request: its route pattern (`collections/:collectionId/records`) and method. */
  route?: string
  call?: string
}

const storage = new AsyncLocalStorage<RequestContext>()

export const currentRequest = (): RequestContext | undefined => storage.getStore()

export const runInRequest = <T>(context: RequestContext, run: () => T): T => storage.run(context, run)

/** A client's own request id is kept only if it is a short token of safe characters; anything else gets a fresh one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export const requestIdFrom = (header: string | undefined): string =>
  header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID()
