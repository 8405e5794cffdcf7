import { createRoost } from 'roost/client'
import { clientStores, MemorySampler, type StoreKind } from '../lib/client-stores.js'
import { payload } from '../lib/payload.js'
import { now } from '../lib/stats.js'
import type { RoostTarget, Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

interface State {
  collectionId: string
  kinds: StoreKind[]
}

/**
 * A new device: a fresh client of the client library (src/client, as an app
 * uses it) opens a collection that already holds `syncRecords` records and
 * pulls all of it into its store, once per store kind.
 */
async function syncOnce(target: RoostTarget, state: State, kind: StoreKind, records: number) {
  const { store, cleanup } = kind.open()
  const memory = new MemorySampler()
  const roost = createRoost({ url: target.url, auth: { accessToken: target.accessToken }, store })
  try {
    const start = now()
    roost.collection(state.collectionId, { create: false })
    await roost.whenSynced()
    const seconds = (now() - start) / 1000
    const usage = memory.stop()
    const live = (await store.listRecords(state.collectionId)).filter((record) => !record.deleted).length
    if (live !== records) throw new Error(`the ${kind.name} store holds ${live} records after the sync, not ${records}`)
    return { seconds, ...usage }
  } finally {
    memory.stop()
    await roost.close()
    cleanup()
  }
}

export const w6InitialSync: Workload<State> = {
  id: 'W6',
  title: 'Initial sync with the client library',
  description: (settings: Settings) =>
    `A new device: a fresh client of the client library (\`roost/client\`, in the benchmark process, signed in with the target user's token, realtime on as by default) ` +
    `opens a collection holding ${settings.syncRecords.toLocaleString('en')} records and pulls all of it (pages of 1000) into an empty store: ` +
    'seconds until `whenSynced()` resolves, and the benchmark process\'s peak RSS and JS heap growth meanwhile (sampled every 5 ms). ' +
    'Once into the memory store, once into the SQLite store (`roost/client/sqlite`, a file in a temporary folder) when it is there. Roost only.',
  metrics: [
    { key: 'memorySeconds', label: 'memory store: seconds', unit: 's', better: 'lower' },
    { key: 'memoryPeakRssMiB', label: 'memory store: client peak RSS', unit: 'MiB', better: 'lower' },
    { key: 'memoryHeapGrowthMiB', label: 'memory store: client heap growth', unit: 'MiB', better: 'lower' },
    { key: 'sqliteSeconds', label: 'SQLite store: seconds', unit: 's', better: 'lower' },
    { key: 'sqlitePeakRssMiB', label: 'SQLite store: client peak RSS', unit: 'MiB', better: 'lower' },
    { key: 'sqliteHeapGrowthMiB', label: 'SQLite store: client heap growth', unit: 'MiB', better: 'lower' }
  ],
  unsupported: (target: Target) => (target.kind === 'roost' ? undefined : 'no client library'),
  async prepare(target, settings) {
    const roost = target as RoostTarget
    const kinds = clientStores()
    const collectionId = await roost.newCollection()
    for (let from = 0; from < settings.syncRecords; from += 1000) {
      const records = Array.from({ length: Math.min(1000, settings.syncRecords - from) }, (_, index) => ({ id: `s${from + index}`, data: payload(from + index) }))
      await roost.http.json('POST', `/collections/${collectionId}/records`, records)
    }
    await target.database.analyze()
    return { collectionId, kinds }
  },
  async run(target, state, settings): Promise<RunResult> {
    const values: Record<string, number> = {}
    for (const kind of state.kinds) {
      const result = await syncOnce(target as RoostTarget, state, kind, settings.syncRecords)
      values[`${kind.name}Seconds`] = result.seconds
      values[`${kind.name}PeakRssMiB`] = result.peakRssMiB
      values[`${kind.name}HeapGrowthMiB`] = result.heapGrowthMiB
    }
    return { values, operations: settings.syncRecords * state.kinds.length }
  }
}
