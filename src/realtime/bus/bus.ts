/**
 * A realtime bus: one channel every instance of a deployment publishes to and
 * hears, itself included. sync.ts writes the feathers-sync side once (what
 * crosses, how, when a change counts as sent); a transport only carries text.
 */
export interface Bus {
  /** What the logs and errors call it ("Redis", "NATS"). */
  readonly name: string
  /** Whether the connection is up now (false while the server is away and it reconnects). */
  readonly connected: boolean
  /** Resolves once connected and subscribed (messages published after it are heard); rejects if the server is unreachable. */
  readonly ready: Promise<void>
  /**
   * Sends one message. Messages of one instance arrive everywhere in the order
   * it published them. Resolves once the server has it (so ahead of whatever
   * any instance publishes after), rejects if it cannot; may stay pending
   * while the server is away (callers bound their wait).
   */
  publish(text: string): Promise<void>
  /** Sends what is still queued (briefly), then disconnects. Safe to call when it never connected. */
  close(): Promise<void>
}

export interface BusOptions {
  /** The server (sync.url). */
  url: string
  /** The channel or subject the instances share (sync.key). */
  channel: string
  /** Every message heard on the channel, in order. */
  onMessage(text: string): void
  /** An error after start (the transport reconnects by itself): logged, never thrown. */
  onError(error: unknown): void
}
