import { io, type Socket } from 'socket.io-client'
import type { ChangeEvent } from '../../services/collections/collections.shared.js'
import { RoostError } from '../errors.js'

export interface RealtimeHandlers {
  /** The socket is connected and signed in (again): subscribe and pull. */
  onReady(): void
  /** The connection is gone (socket.io reconnects by itself). */
  onDown(): void
  onChange(event: ChangeEvent): void
  /** A `collections lock`, `member`, `removed` or `keys` event. */
  onCollectionEvent(type: 'lock' | 'member' | 'removed' | 'keys', payload: unknown): void
  /** Signing the socket in failed for good (401): the session is over. */
  onAuthFailed(error: RoostError): void
}

/**
 * The socket.io side: one connection, signed in with the access token,
 * that hears `collections change` events of the collections it subscribed
 * to. Events are only pokes for the sync loop; the change feed stays the
 * source of truth, so nothing here needs to be reliable.
 */
export class RealtimeConnection {
  private readonly socket: Socket
  private ready = false
  private stopped = false

  constructor(
    url: string,
    private readonly token: () => string | null,
    private readonly handlers: RealtimeHandlers,
    private readonly timeoutMs: number
  ) {
    this.socket = io(url, { transports: ['websocket'], autoConnect: false, reconnectionDelayMax: 10_000 })
    this.socket.on('connect', () => void this.signIn())
    this.socket.on('disconnect', () => {
      this.ready = false
      this.handlers.onDown()
    })
    this.socket.on('collections change', (event: ChangeEvent) => this.handlers.onChange(event))
    this.socket.on('collections lock', (event: unknown) => this.handlers.onCollectionEvent('lock', event))
    this.socket.on('collections member', (event: unknown) => this.handlers.onCollectionEvent('member', event))
    this.socket.on('collections removed', (event: unknown) => this.handlers.onCollectionEvent('removed', event))
    this.socket.on('collections keys', (event: unknown) => this.handlers.onCollectionEvent('keys', event))
  }

  get isReady(): boolean {
    return this.ready
  }

  start(): void {
    this.socket.connect()
  }

  stop(): void {
    this.stopped = true
    this.ready = false
    this.socket.disconnect()
  }

  /** After a new token (sign-in again): sign the socket in with it. */
  refresh(): void {
    if (this.socket.connected) void this.signIn()
  }

  /** Feathers' socket protocol: `emit(method, path, ...args, ack)`. */
  call<T>(method: string, path: string, ...args: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.socket.connected) return reject(new RoostError(0, 'NetworkError', 'The socket is not connected'))
      this.socket.timeout(this.timeoutMs).emit(method, path, ...args, (timeout: Error | null, error: unknown, result: T) => {
        if (timeout) return reject(new RoostError(0, 'NetworkError', 'No answer over socket.io in time'))
        if (error) {
          const e = error as { code?: number; name?: string; message?: string; data?: unknown }
          return reject(new RoostError(e.code ?? 500, e.name ?? 'Error', e.message ?? 'Error', e.data))
        }
        resolve(result)
      })
    })
  }

  async subscribe(collectionId: string): Promise<{ collectionId: string; cursor: string }> {
    return this.call('create', 'subscriptions', { collectionId }, {})
  }

  async unsubscribe(collectionId: string): Promise<{ collectionId: string }> {
    return this.call('remove', 'subscriptions', collectionId, {})
  }

  private async signIn(): Promise<void> {
    const accessToken = this.token()
    if (!accessToken) return
    try {
      await this.call('create', 'authentication', { strategy: 'jwt', accessToken }, {})
      this.ready = true
      this.handlers.onReady()
    } catch (error) {
      const e = error as RoostError
      if (e.code === 401) this.handlers.onAuthFailed(e)
      // Anything else (429 too many sockets, a lost connection): socket.io's
      // reconnect or the sync loop's next try brings us back here.
      else if (!this.stopped) setTimeout(() => !this.stopped && this.refresh(), 2000)
    }
  }
}
