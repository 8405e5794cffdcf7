import type { Application, HookContext, NextFunction } from '../declarations.js'
import { collectionChannel } from '../channels.js'
import { createMetrics, type ScrapedState } from './registry.js'

export type { LockWaitOutcome, Metrics } from './registry.js'

/**
 * Sets up the app's metrics (./registry.ts): realtime connections from
 * Feathers' connection events, changes written from the collections
 * service's `change` events (sent once per committed change, after commit).
 * Service calls are counted by `countCalls`, an around-hook on every call;
 * lock waits by the locks service. Subscriptions and the database pool are
 * read when scraped (scrapedState).
 */
export function metrics(app: Application): void {
  const collected = createMetrics({ processMetrics: app.get('metrics').token !== '', state: scrapedState(app) })
  app.set('metricsRegistry', collected)
  app.on('connection', () => collected.realtimeConnections.inc())
  app.on('disconnect', () => collected.realtimeConnections.dec())
}

/**
 * Subscriptions are memberships of collection channels (channels.ts,
 * services/subscriptions), which Feathers keeps: a connection leaves them all
 * when it disconnects, and leaves one when it unsubscribes, loses its
 * membership or the collection is deleted. The pool is the storage's (Storage.poolStats),
 * and so are the read replica's counts (Storage.readReplica).
 */
const scrapedState = (app: Application): ScrapedState => {
  const prefix = collectionChannel('')
  return {
    subscriptions: () => app.channels.filter((name) => name.startsWith(prefix)).reduce((sum, name) => sum + app.channel(name).length, 0),
    pool: () => app.get('storage').poolStats(),
    replicaReads: () => app.get('storage').readReplica?.counts
  }
}

/** Once the services exist: the collections service announces every committed change. */
export function countChanges(app: Application): void {
  const { changesWritten } = app.get('metricsRegistry')
  app.service('collections').on('change', () => changesWritten.inc())
}

/** What REST answers a call that succeeded with (Feathers' koa transport: 201 for create, 204 for an empty answer, else 200). */
const successStatus = (context: HookContext): number =>
  context.http?.status ?? (context.method === 'create' ? 201 : context.result === undefined || context.result === null ? 204 : 200)

/**
 * Around every call from a client (calls services make to each other are
 * part of one call): its count and duration. `context.path` is the route
 * pattern (`collections/:collectionId/records`), never the ids in it.
 * Placed outside hideInternalErrors, so a failure is counted with the code
 * the client gets.
 */
export async function countCalls(context: HookContext, next: NextFunction): Promise<void> {
  if (context.params.provider === undefined) return next()
  const metrics = context.app.get('metricsRegistry')
  const labels = { service: context.path, method: context.method }
  const stop = metrics.requestDuration.startTimer(labels)
  try {
    await next()
    metrics.requests.inc({ ...labels, status: String(successStatus(context)) })
    if (context.path === 'batches' && context.method === 'commit') metrics.batchCommits.inc()
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code
    const status = typeof code === 'number' && code >= 400 && code < 600 ? code : 500
    metrics.requests.inc({ ...labels, status: String(status) })
    if (status === 409) metrics.conflicts.inc(labels)
    throw error
  } finally {
    stop()
  }
}
