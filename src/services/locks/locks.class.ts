import { EventEmitter, once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Id, Params } from '@feathersjs/feathers'
import { BadRequest, NotFound } from '@feathersjs/errors'
import { isoAfter, nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { requireUser } from '../../access.js'
import { fromStorageError } from '../../errors.js'
import type { LockWaitOutcome } from '../../metrics/index.js'
import { isStorageError } from '../../storage/index.js'
import type { StoredCollection, StoredLock } from '../../storage/types.js'
import type { Lock, LockAcquire, LockEvent, LockRelease, LockRemoveQuery, LockRenew } from './locks.schema.js'

/** How often a waiting acquire looks again when no release in this process woke it (releases in other instances). */
const WAIT_POLL_MS = 250

/**
 * Leases on one collection (/collections/:collectionId/locks), by holder id.
 * The hooks have authenticated the caller and authorized the collection
 * (`params.collection`). Storage decides grants and enforces them on writes;
 * this class bounds lease lengths, waits when asked to, and announces
 * acquired / released / expired on the `collections` service (`lock` events).
 */
export class LockService {
  /** Emits a collection id whenever a lease on it ends in this process, to wake waiting acquires. */
  private readonly freed = new EventEmitter().setMaxListeners(0)
  private expiryTimer: NodeJS.Timeout | undefined

  constructor(private readonly app: Application) {}

  private get storage() {
    return this.app.get('storage')
  }

  /** Every live lease of the collection, whoever holds it, with the holder's e-mail (any member may see who holds what). */
  async find(params: Params): Promise<Lock[]> {
    const leases = await this.storage.listLocks(collection(params).id, nowIso(this.app))
    const emails = new Map<string, string | undefined>()
    // Leases are few (one per holder): one user read per distinct holder's user.
    for (const userId of new Set(leases.map((lease) => lease.userId))) emails.set(userId, (await this.storage.getUser(userId))?.email)
    return leases.map((lease) => withEmail(toLock(lease), emails.get(lease.userId)))
  }

  async get(holder: Id, params: Params): Promise<Lock> {
    const user = requireUser(params)
    const lock = (await this.storage.listLocks(collection(params).id, nowIso(this.app))).find(
      (candidate) => candidate.userId === user.id && candidate.holder === String(holder)
    )
    if (lock === undefined) throw new NotFound(`You hold no lock on this collection as "${String(holder)}"`)
    return toLock(lock)
  }

  async create(data: LockAcquire, params: Params): Promise<Lock> {
    const user = requireUser(params)
    const target = collection(params)
    const settings = this.app.get('locks')
    const ttlSeconds = Math.min(data.ttlSeconds ?? settings.ttlSeconds, settings.maxTtlSeconds)
    const deadline = Date.now() + Math.min(data.waitSeconds ?? 0, settings.maxWaitSeconds) * 1000
    // Set when the first try was refused and there is time to wait: only acquires that waited are counted (metrics).
    let waitingSince: number | undefined
    const waitEnded = (outcome: LockWaitOutcome) => {
      if (waitingSince !== undefined) this.countWait(outcome, waitingSince)
    }
    for (;;) {
      try {
        const { lock, created, expired } = await this.storage.acquireLock({
          collectionId: target.id,
          userId: user.id,
          holder: data.holder,
          mode: data.mode ?? 'exclusive',
          expiresAt: isoAfter(this.app, ttlSeconds),
          now: nowIso(this.app)
        })
        waitEnded('acquired')
        for (const ended of expired) this.announce('expired', target, ended)
        if (created) this.announce('acquired', target, lock)
        return toLock(lock)
      } catch (error) {
        if (!isStorageError(error)) {
          waitEnded('failed')
          throw error
        }
        if (error.kind !== 'locked' || Date.now() >= deadline) {
          waitEnded(error.kind === 'locked' ? 'timed_out' : 'failed')
          throw fromStorageError(error, true)
        }
        waitingSince ??= performance.now()
        await this.waitForRelease(target.id, deadline)
      }
    }
  }

  /** Renew: extends the caller's live lease on this collection. */
  async patch(holder: Id, data: LockRenew, params: Params): Promise<Lock> {
    const user = requireUser(params)
    const settings = this.app.get('locks')
    const ttlSeconds = Math.min(data.ttlSeconds ?? settings.ttlSeconds, settings.maxTtlSeconds)
    try {
      const lock = await this.storage.renewLock(collection(params).id, user.id, String(holder), isoAfter(this.app, ttlSeconds), nowIso(this.app))
      return toLock(lock)
    } catch (error) {
      throw isStorageError(error) ? fromStorageError(error, true) : error
    }
  }

  /**
   * Release: a lease that already ended is not an error, so a retried release
   * is harmless. With `$break: true` an owner ends whoever's lease of that
   * holder id (of `userId` only, if given); the hook let only owners through.
   */
  async remove(holder: Id, params: Params<LockRemoveQuery>): Promise<LockRelease> {
    const user = requireUser(params)
    const target = collection(params)
    const query = params.query ?? {}
    if (query.userId !== undefined && query.$break !== true) throw new BadRequest('"query.userId" is only for breaking a lock ($break: true)')
    if (query.$break === true) {
      try {
        const broken = await this.storage.breakLock({ collectionId: target.id, holder: String(holder), userId: query.userId, actorId: user.id, now: nowIso(this.app) })
        for (const lock of broken) this.announce('released', target, lock, user.id)
        return { collectionId: target.id, holder: String(holder), released: broken.length > 0 }
      } catch (error) {
        throw isStorageError(error) ? fromStorageError(error, true) : error
      }
    }
    const released = await this.storage.releaseLock(target.id, user.id, String(holder), nowIso(this.app))
    if (released !== undefined) this.announce('released', target, released)
    return { collectionId: target.id, holder: String(holder), released: released !== undefined }
  }

  /** Ends leases as they expire, announcing each once (storage deletes it, so one instance wins). */
  async setup(): Promise<void> {
    const every = this.app.get('locks').expiryCheckMilliseconds
    this.expiryTimer = setInterval(() => {
      this.expireNow().catch((error: unknown) => this.app.get('logger').warn({ err: error }, 'lock expiry failed'))
    }, every)
    this.expiryTimer.unref()
  }

  async teardown(): Promise<void> {
    clearInterval(this.expiryTimer)
  }

  async expireNow(): Promise<StoredLock[]> {
    const expired = await this.storage.expireLocks(nowIso(this.app))
    for (const lock of expired) {
      const target = await this.storage.getCollection(lock.collectionId)
      if (target !== undefined) this.announce('expired', target, lock)
    }
    return expired
  }

  /** Tells the collection's members (channels.ts) that a lease began or ended. */
  announce(type: LockEvent['type'], target: StoredCollection, lock: StoredLock, brokenBy?: string): void {
    if (type !== 'acquired') this.freed.emit('freed', target.id)
    const event: LockEvent = { collectionId: target.id, type, lock: toLock(lock), ...(brokenBy === undefined ? {} : { brokenBy }) }
    this.app.service('collections').emit('lock', event, { app: this.app, path: 'collections', result: event, collection: target })
  }

  private countWait(outcome: LockWaitOutcome, since: number): void {
    const { lockWaits, lockWaitDuration } = this.app.get('metricsRegistry')
    lockWaits.inc({ outcome })
    lockWaitDuration.observe({ outcome }, (performance.now() - since) / 1000)
  }

  private async waitForRelease(collectionId: string, deadline: number): Promise<void> {
    const controller = new AbortController()
    const wakeUp = (async () => {
      for (;;) {
        const [freed] = (await once(this.freed, 'freed', { signal: controller.signal })) as [string]
        if (freed === collectionId) return
      }
    })().catch(() => undefined)
    // Leases also end by expiry (seen by the clock) and in other instances: look again regularly.
    const remaining = Math.max(0, deadline - Date.now())
    await Promise.race([wakeUp, sleep(Math.min(WAIT_POLL_MS, remaining), undefined, { signal: controller.signal }).catch(() => undefined)])
    controller.abort()
  }
}

const collection = (params: Params): StoredCollection => {
  if (!params.collection) throw new Error('authorizeRouteCollection() must run before the locks service')
  return params.collection
}

const toLock = (lock: StoredLock): Lock => ({ ...lock })

const withEmail = (lock: Lock, email: string | undefined): Lock => (email === undefined ? lock : { ...lock, email })
