import type { CollectionEvent, ServerChange, SyncStatus, WriteOutcome } from '../types.js'

/** Messages between tabs of one app on one store. */
export type TabMessage =
  | { type: 'changed'; collectionIds: string[] }
  | { type: 'kick' }
  | { type: 'outcome'; outcome: WriteOutcome }
  | { type: 'status'; status: SyncStatus }
  /** The leader finished a cycle with nothing left to push: followers' `whenSynced` may resolve. */
  | { type: 'synced' }
  /** A tab that just started asks the leader for its status. */
  | { type: 'hello' }
  /** The leader applied server changes / heard a collection event: followers' listeners hear them too. */
  | { type: 'serverChanges'; changes: ServerChange[] }
  | { type: 'collectionEvent'; event: CollectionEvent }
  /** A tab forgot a collection: the others stop syncing it too. */
  | { type: 'forgot'; collectionId: string }

interface TabHandlers {
  becameLeader(): void
  lostLeadership(): void
  message(message: TabMessage): void
}

/**
 * Several tabs of one browser app share one store, and one of them syncs at
 * a time: the holder of a Web Lock named after the store. The others write
 * locally and tell the leader (BroadcastChannel); the leader tells them what
 * changed. A tab going away (closed, frozen, put in the back/forward cache)
 * lets go of the lock, and another tab takes over: nothing is lost, since
 * every write is in the shared store and in-flight pushes are re-sent with
 * the same keys. Without Web Locks (Node), every client leads.
 */
export class TabCoordinator {
  private channel: BroadcastChannel | null = null
  private leader = false
  private release: (() => void) | null = null
  private closed = false
  private readonly onPageHide = () => this.resign()
  private readonly onPageShow = () => this.campaign()

  constructor(
    private readonly name: string,
    private readonly handlers: TabHandlers
  ) {}

  get isLeader() {
    return this.leader
  }

  start(): void {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    if (typeof BroadcastChannel !== 'undefined' && typeof window !== 'undefined') {
      this.channel = new BroadcastChannel(`roost:${this.name}`)
      this.channel.onmessage = (event: MessageEvent<TabMessage>) => this.handlers.message(event.data)
    }
    if (!locks || typeof window === 'undefined') {
      this.leader = true
      this.handlers.becameLeader()
      return
    }
    window.addEventListener('pagehide', this.onPageHide)
    window.addEventListener('pageshow', this.onPageShow)
    document.addEventListener('freeze', this.onPageHide)
    document.addEventListener('resume', this.onPageShow)
    this.campaign()
  }

  post(message: TabMessage): void {
    this.channel?.postMessage(message)
  }

  private campaign() {
    if (this.closed || this.leader || this.release) return
    const held = new Promise<void>((resolve) => (this.release = resolve))
    void navigator.locks
      .request(`roost-sync:${this.name}`, async () => {
        if (this.closed || !this.release) return
        this.leader = true
        this.handlers.becameLeader()
        await held
      })
      .catch(() => undefined)
  }

  private resign() {
    const release = this.release
    this.release = null
    if (this.leader) {
      this.leader = false
      this.handlers.lostLeadership()
    }
    release?.()
  }

  close(): void {
    this.closed = true
    this.resign()
    if (typeof window !== 'undefined') {
      window.removeEventListener('pagehide', this.onPageHide)
      window.removeEventListener('pageshow', this.onPageShow)
      document.removeEventListener('freeze', this.onPageHide)
      document.removeEventListener('resume', this.onPageShow)
    }
    this.channel?.close()
    this.channel = null
  }
}
