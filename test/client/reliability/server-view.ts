import { expect } from 'vitest'
import type { ServerRecord } from '../../../src/client/types.js'

/**
 * What the server holds, read with plain fetch (no client library in the
 * way): a signed-in user's view of a collection's change feed.
 */
export class ServerView {
  private constructor(private readonly url: string, private readonly token: string) {}

  static async signIn(url: string, user: { email: string; password: string }): Promise<ServerView> {
    const response = await fetch(`${url}/authentication`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ strategy: 'local', email: user.email, password: user.password })
    })
    expect(response.status).toBe(201)
    const { accessToken } = (await response.json()) as { accessToken: string }
    return new ServerView(url, accessToken)
  }

  /** The whole change feed from the beginning: every record (tombstones too) in its latest state. */
  async feed(collectionId: string): Promise<ServerRecord[]> {
    const changes: ServerRecord[] = []
    let since = ''
    for (;;) {
      const query = new URLSearchParams({ limit: '1000', ...(since ? { since } : {}) })
      const response = await fetch(`${this.url}/collections/${encodeURIComponent(collectionId)}/changes?${query}`, {
        headers: { Authorization: `Bearer ${this.token}` }
      })
      expect(response.status).toBe(200)
      const page = (await response.json()) as { changes: ServerRecord[]; cursor: string; more: boolean }
      changes.push(...page.changes)
      since = page.cursor
      if (!page.more) return changes
    }
  }

  /** Creates a collection with this id. */
  async createCollection(id: string): Promise<void> {
    const response = await fetch(`${this.url}/collections`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id })
    })
    expect(response.status).toBe(201)
  }

  /** A batch as the server has it (status, operationCount, results once committed); null if there is none. */
  async batch(id: string): Promise<{ id: string; status: string; operationCount: number; results?: unknown[] } | null> {
    const response = await fetch(`${this.url}/batches/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${this.token}` } })
    if (response.status === 404) return null
    expect(response.status).toBe(200)
    return (await response.json()) as { id: string; status: string; operationCount: number; results?: unknown[] }
  }

  /** The records by id. */
  async records(collectionId: string): Promise<Map<string, ServerRecord>> {
    return new Map((await this.feed(collectionId)).map((record) => [record.id, record]))
  }

  /**
   * How many changes the collection has had: every write takes the next seq
   * of its collection, so the highest seq counts them (a write applied twice
   * would take two).
   */
  async changeCount(collectionId: string): Promise<number> {
    return Math.max(0, ...(await this.feed(collectionId)).map((record) => record.seq))
  }
}
