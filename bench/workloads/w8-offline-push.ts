import { createRoost, memoryStore } from 'roost/client'
import { payload, type Payload } from '../lib/payload.js'
import { now } from '../lib/stats.js'
import type { RoostTarget, Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

/**
 * The client library's `fetch` (options.fetch), with the network switched
 * off and on: offline, every call fails at once as a refused connection
 * does; online, calls go through and are counted.
 */
class Network {
  online = true
  requests = 0

  readonly fetch: typeof fetch = (input, init) => {
    if (!this.online) return Promise.reject(new TypeError('fetch failed: offline'))
    this.requests++
    return fetch(input, init)
  }
}

export const w8OfflinePush: Workload<void> = {
  id: 'W8',
  title: 'Offline catch-up push with the client library',
  description: (settings: Settings) =>
    `A client of the client library (\`roost/client\`, memory store, REST only, in the benchmark process) that has synced an empty collection goes offline, ` +
    `makes ${settings.offlineWrites.toLocaleString('en')} writes (new records of about 200 bytes), and comes back online: ` +
    'seconds from reconnecting until its outbox is empty (`whenSynced()`: pushed and pulled), and the HTTP requests that took ' +
    '(counted by wrapping the `fetch` the client is given). Roost only.',
  metrics: [
    { key: 'seconds', label: 'seconds until the outbox is empty', unit: 's', better: 'lower' },
    { key: 'requests', label: 'HTTP requests', unit: 'requests', better: 'lower' },
    { key: 'writesPerSecond', label: 'writes pushed', unit: '/s', better: 'higher' }
  ],
  unsupported: (target: Target) => (target.kind === 'roost' ? undefined : 'no client library'),
  async prepare() {},
  async run(target, _state, settings): Promise<RunResult> {
    const roost = target as RoostTarget
    const collectionId = await roost.newCollection()
    const network = new Network()
    const store = memoryStore()
    const client = createRoost({ url: roost.url, auth: { accessToken: roost.accessToken }, store, realtime: false, fetch: network.fetch })
    try {
      const collection = client.collection<Payload>(collectionId, { create: false })
      await client.whenSynced()

      network.online = false
      for (let i = 0; i < settings.offlineWrites; i++) await collection.put(`o${i}`, payload(i))

      network.requests = 0
      const start = now()
      network.online = true
      await client.whenSynced()
      const seconds = (now() - start) / 1000
      const requests = network.requests

      const outbox = await store.listOutbox()
      if (outbox.length > 0) throw new Error(`${outbox.length} writes are still in the outbox after whenSynced()`)
      const { total } = await roost.http.json<{ total: number }>('GET', `/collections/${collectionId}/records?$limit=0`)
      if (total !== settings.offlineWrites) throw new Error(`the server holds ${total} records, not ${settings.offlineWrites}`)
      return { values: { seconds, requests, writesPerSecond: settings.offlineWrites / seconds }, operations: settings.offlineWrites }
    } finally {
      await client.close()
    }
  }
}
