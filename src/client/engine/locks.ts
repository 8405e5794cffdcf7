import type { Lock } from '../../services/locks/locks.shared.js'
import { ClientInputError, toRoostError, type RoostError } from '../errors.js'
import { Emitter } from '../observable.js'
import type { RestTransport } from '../transport/rest.js'

export interface LockOptions {
  /** Default exclusive: the only writer of the collection while held. */
  mode?: 'exclusive' | 'shared'
  /** Lease length in seconds (default 60); renewed automatically after a third of it. */
  ttlSeconds?: number
  /** Wait this long for someone else's lease to end before failing with 423. */
  waitSeconds?: number
}

/** A lock held by this client. Writes made while an exclusive one is held carry its fencing token. */
export interface LockHandle {
  readonly collectionId: string
  readonly token: number
  readonly mode: 'exclusive' | 'shared'
  /** When the lease ends unless renewed (it is renewed while held). */
  readonly expiresAt: string
  /** The lease ended without release(): expired, taken away, or we were removed. */
  readonly lost: boolean
  onLost(listener: (reason: RoostError | null) => void): () => void
  /** Waits (up to the lease's end) until the writes made under the lock are pushed, then releases it. */
  release(): Promise<void>
}

export interface LockHost {
  rest: RestTransport
  holderId(): Promise<string>
  /** Resolves once the writes carrying this token have an outcome (or the time is up). */
  flushWrites(collectionId: string, token: number, until: number): Promise<void>
}

/** Bad options fail at once, as a ClientInputError, before anything is sent. */
export function checkLockOptions(options: LockOptions) {
  if (typeof options !== 'object' || options === null) throw new ClientInputError('The lock options must be an object')
  if (options.mode !== undefined && options.mode !== 'exclusive' && options.mode !== 'shared') throw new ClientInputError(`"mode" must be 'exclusive' or 'shared'`)
  if (options.ttlSeconds !== undefined && !(Number.isInteger(options.ttlSeconds) && options.ttlSeconds >= 1)) throw new ClientInputError('"ttlSeconds" must be a whole number of seconds, at least 1')
  if (options.waitSeconds !== undefined && !(Number.isInteger(options.waitSeconds) && options.waitSeconds >= 0)) throw new ClientInputError('"waitSeconds" must be a whole number of seconds, at least 0')
}

const path = (collectionId: string, holder?: string) => `collections/${encodeURIComponent(collectionId)}/locks${holder ? `/${encodeURIComponent(holder)}` : ''}`

/** The locks this client holds, renewed on a timer until released or lost. */
export class LockManager {
  private readonly held = new Map<string, HeldLock>()

  constructor(private readonly host: LockHost) {}

  /** The fencing token local writes to this collection carry now, if an exclusive lease is held. */
  tokenFor(collectionId: string): number | null {
    const lock = this.held.get(collectionId)
    return lock && !lock.lost && lock.mode === 'exclusive' ? lock.token : null
  }

  async acquire(collectionId: string, options: LockOptions = {}): Promise<LockHandle> {
    checkLockOptions(options)
    const holder = await this.host.holderId()
    const ttlSeconds = options.ttlSeconds ?? 60
    const lock = await this.host.rest.call<Lock>({
      method: 'POST',
      path: path(collectionId),
      body: { holder, mode: options.mode ?? 'exclusive', ttlSeconds, ...(options.waitSeconds ? { waitSeconds: options.waitSeconds } : {}) },
      timeoutMs: ((options.waitSeconds ?? 0) + 30) * 1000
    })
    this.held.get(collectionId)?.stop()
    const handle = new HeldLock(this, this.host, lock, ttlSeconds, holder)
    this.held.set(collectionId, handle)
    return handle
  }

  /** The server says a lease of ours ended (a `collections lock` event). */
  ended(collectionId: string, token: number) {
    const lock = this.held.get(collectionId)
    if (lock && lock.token === token) lock.markLost(null)
  }

  forget(lock: HeldLock) {
    if (this.held.get(lock.collectionId) === lock) this.held.delete(lock.collectionId)
  }

  stopAll() {
    for (const lock of this.held.values()) lock.stop()
    this.held.clear()
  }
}

class HeldLock implements LockHandle {
  readonly collectionId: string
  readonly token: number
  readonly mode: 'exclusive' | 'shared'
  expiresAt: string
  lost = false
  private released = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private readonly lostEvents = new Emitter<RoostError | null>()

  constructor(
    private readonly manager: LockManager,
    private readonly host: LockHost,
    lock: Lock,
    private readonly ttlSeconds: number,
    private readonly holder: string
  ) {
    this.collectionId = lock.collectionId
    this.token = lock.token
    this.mode = lock.mode
    this.expiresAt = lock.expiresAt
    this.schedule()
  }

  onLost(listener: (reason: RoostError | null) => void) {
    return this.lostEvents.on(listener)
  }

  private schedule() {
    this.timer = setTimeout(() => void this.renew(), (this.ttlSeconds * 1000) / 3)
  }

  private async renew() {
    if (this.lost || this.released) return
    try {
      const lock = await this.host.rest.call<Lock>({ method: 'PATCH', path: path(this.collectionId, this.holder), body: { ttlSeconds: this.ttlSeconds } })
      if (lock.token !== this.token) return this.markLost(null)
      this.expiresAt = lock.expiresAt
      this.schedule()
    } catch (caught) {
      const error = toRoostError(caught)
      // Not answered: keep trying while the lease may still run.
      if ((error.code === 0 || error.code >= 500) && Date.parse(this.expiresAt) > Date.now()) {
        this.timer = setTimeout(() => void this.renew(), 1000)
        return
      }
      this.markLost(error)
    }
  }

  markLost(reason: RoostError | null) {
    if (this.lost || this.released) return
    this.lost = true
    this.stop()
    this.manager.forget(this)
    this.lostEvents.emit(reason)
  }

  stop() {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  async release() {
    if (this.released) return
    if (!this.lost) await this.host.flushWrites(this.collectionId, this.token, Date.parse(this.expiresAt))
    this.released = true
    this.stop()
    this.manager.forget(this)
    await this.host.rest.call({ method: 'DELETE', path: path(this.collectionId, this.holder) }).catch(() => undefined)
  }
}
