import syncModule from 'feathers-sync'
import type { Application } from '../declarations.js'
import { collectionPath } from '../services/collections/collections.shared.js'
import { invitationPath } from '../services/invitations/invitations.shared.js'
import { openBus, redactedUrl } from './bus/index.js'

/**
 * Realtime across instances (`sync.url`, SYNC_URL): feathers-sync's core
 * takes every event of the services below and, instead of emitting it here,
 * sends it over the bus (Redis or NATS, ./bus/); every instance, this one
 * included, emits it when it comes back, and its own channels (channels.ts)
 * decide which of its sockets hear it, from the current members. Events from
 * one instance arrive everywhere in the order it sent them (one publishing
 * connection, one channel).
 *
 * Why our own transports rather than feathers-sync's adapters: its Redis
 * adapter neither awaits `connect()` nor `publish()`, so Redis being away at
 * start or later would be an unhandled rejection (the process ends), and its
 * NATS adapter opens a connection per event; here both are caught and logged,
 * and a bus away at start fails `setup`.
 */

// feathers-sync is CommonJS; its typings do not name `core` (the emit interceptor the adapters use).
const { core, SYNC } = syncModule as unknown as { core: (app: Application) => void; SYNC: symbol }

/**
 * Only the services that have publishers cross the bus. The others (users,
 * authentication, records…) publish nothing, and their events carry what must
 * not leave the process (tokens, hashes): they stay local.
 */
const CROSSING = new Set([collectionPath, invitationPath])

/** What a published event's context needs on the other side (channels.ts); nothing else crosses (no params, tokens or connections). */
interface CrossingContext {
  path?: string
  method?: string
  event?: string
  type?: string
  result?: unknown
  collection?: { id: string }
  concerned?: string
  params: { formerMembers?: unknown }
}

interface Message {
  event: string
  path: string
  data: unknown
  context?: Record<string, unknown>
}

const serialize = ({ event, path, data, context }: Message): string => {
  if (context === undefined || context === null) return JSON.stringify({ event, path, data })
  const collection = context.collection as { id?: unknown } | undefined
  const params = context.params as { formerMembers?: unknown } | undefined
  const crossing: CrossingContext = {
    path: context.path as string | undefined,
    method: context.method as string | undefined,
    event: context.event as string | undefined,
    type: context.type as string | undefined,
    // Most events' result is their data: sent once.
    result: context.result === data ? undefined : context.result,
    collection: collection === undefined ? undefined : { id: String(collection.id) },
    concerned: context.concerned as string | undefined,
    params: params?.formerMembers === undefined ? {} : { formerMembers: params.formerMembers }
  }
  return JSON.stringify({ event, path, data, context: crossing })
}

const deserialize = (text: string): Message => {
  const message = JSON.parse(text) as Message
  if (message.context !== undefined && message.context.result === undefined) message.context.result = message.data
  return message
}

export interface Sync {
  ready: Promise<unknown>
  /**
   * Resolves once every event sent so far is on the bus (so ahead of whatever
   * any instance sends after), or after `SENT_WAIT_MS` at most (bus away:
   * the bus is best-effort, clients catch up from their cursors).
   */
  sent(): Promise<void>
  /** Whether the bus's connection is up now (/ready reports it). */
  connected(): boolean
  close(): Promise<void>
}

const SENT_WAIT_MS = 1000

export { BUS_CLIENT_NAME, MAX_QUEUED_EVENTS } from './bus/redis.js'

/**
 * Waits for the events sent so far to be on the bus (see Sync.sent). A
 * membership change awaits it before answering: a write made after the answer,
 * through any instance, is heard everywhere after the change's own event,
 * which drops the members each instance keeps.
 */
export const eventsSent = (app: Application): Promise<void> => app.get('syncBus')?.sent() ?? Promise.resolve()

/** Configures feathers-sync when `sync.url` is set; before the services are registered (it wraps their `emit`). */
export const sync = (app: Application): void => {
  const { url, key } = app.get('sync')
  if (url === '') return
  const logger = app.get('logger')
  const bus = openBus({
    url,
    channel: key,
    // Anything else published on the channel (another program, another version) is dropped, never a crash.
    onMessage(message: string) {
      try {
        const { path } = JSON.parse(message) as { path?: unknown }
        if (typeof path === 'string' && CROSSING.has(path)) app.emit('sync-in', message)
        else logger.warn('a message on the realtime bus that is no Roost event was ignored')
      } catch (error) {
        logger.warn({ err: error }, 'a message on the realtime bus could not be delivered')
      }
    },
    onError: (error: unknown) => logger.warn({ err: error }, `realtime bus (${bus.name}) error`)
  })

  app.configure(core)
  ;(app as unknown as { sync: unknown }).sync = { serialize, deserialize, type: bus.name.toLowerCase() }
  // The bus keeps one instance's messages in order: the last publish answered means every earlier one was.
  let lastPublish: Promise<unknown> = Promise.resolve()
  // Said once per outage, not once per event.
  let dropping = false
  app.on('sync-out', (data: string) => {
    lastPublish = bus.publish(data).then(
      () => {
        if (!dropping) return
        dropping = false
        logger.info(`realtime bus (${bus.name}): events are sent to the other instances again`)
      },
      (error: unknown) => {
        if (dropping) return
        dropping = true
        logger.warn({ err: error }, `realtime bus (${bus.name}): events cannot be sent to the other instances and are dropped until it answers again`)
      }
    )
  })

  // Local only: their events carry what must not leave the process, and nobody hears them anyway.
  app.mixins.push((service: unknown, path: string) => {
    if (CROSSING.has(path)) return
    const target = service as { emit: (event: string, data: unknown, context?: unknown) => boolean }
    const emit = target.emit
    target.emit = function (this: unknown, event: string, data: unknown, context?: unknown) {
      const local = typeof context === 'object' && context !== null ? Object.assign(context, { [SYNC]: false }) : { [SYNC]: false }
      return emit.call(this, event, data, local)
    }
  })

  const ready = bus.ready.catch((error: unknown) => {
    throw new Error(`The realtime bus (sync.url, ${redactedUrl(url)}) is not reachable: ${(error as Error).message}`, { cause: error })
  })
  // Awaited by setup; marked handled so a failure before then is not an unhandled rejection.
  ready.catch(() => undefined)
  app.set('syncBus', {
    ready,
    async sent() {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SENT_WAIT_MS)
      })
      await Promise.race([lastPublish.then(() => undefined), late])
      clearTimeout(timer)
    },
    connected: () => bus.connected,
    close: () => bus.close()
  })
}
