import { randomBytes } from 'node:crypto'
import { createRoost } from 'roost/client'
import { nodeAesGcm } from 'roost/client/node'
import { benchPageOrigin, BenchBrowser, chromiumProblem } from '../lib/browser-client.js'
import { clientStores, MemorySampler, type StoreKind } from '../lib/client-stores.js'
import { benchAccount, encryptCollection, seal } from '../lib/e2e.js'
import { payload } from '../lib/payload.js'
import { now } from '../lib/stats.js'
import type { RoostTarget, Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

export interface InitialSyncState {
  collectionId: string
  kinds: StoreKind[]
  /** Chromium for the IndexedDB store, when it runs here. */
  browser?: BenchBrowser
  /** W6e: the collection is end-to-end encrypted, and each syncing client imports the account's keys from this phrase first. */
  recoveryPhrase?: string
}
type State = InitialSyncState

/** Why the IndexedDB store in Chromium is not measured in this process, or undefined when it is. */
let browserSkipped: string | undefined = chromiumProblem()

/**
 * A new device: a fresh client of the client library (src/client, as an app
 * uses it) opens a collection that already holds `syncRecords` records and
 * pulls all of it into its store, once per store kind. Encrypted (W6e): the
 * device first imports the account's keys (recovery phrase, before the
 * clock starts: a user does it once per device, not per sync), then opens
 * the collection as encrypted; the clock then covers fetching and
 * unwrapping the collection key and decrypting every record.
 */
async function syncOnce(target: RoostTarget, state: State, kind: StoreKind, records: number) {
  const { store, cleanup } = kind.open()
  // W6 samples from before createRoost, as it always has; W6e from after the (untimed) import.
  let memory = state.recoveryPhrase === undefined ? new MemorySampler() : undefined
  // A Node app syncing encrypted records uses node:crypto's AES-GCM (roost/client/node): Node's WebCrypto costs ~50 µs a call.
  const roost = createRoost({ url: target.url, auth: { accessToken: target.accessToken }, store, ...(state.recoveryPhrase === undefined ? {} : { aesGcm: nodeAesGcm }) })
  try {
    if (state.recoveryPhrase !== undefined) await roost.account.importRecoveryPhrase(state.recoveryPhrase)
    memory ??= new MemorySampler()
    const start = now()
    roost.collection(state.collectionId, { create: false, ...(state.recoveryPhrase === undefined ? {} : { encrypted: true }) })
    await roost.whenSynced()
    const seconds = (now() - start) / 1000
    const usage = memory.stop()
    const live = (await store.listRecords(state.collectionId)).filter((record) => !record.deleted)
    if (live.length !== records) throw new Error(`the ${kind.name} store holds ${live.length} records after the sync, not ${records}`)
    // Encrypted or not, the store must hold the records' plaintext (not envelopes, not nulls from a failed decryption).
    const unreadable = live.filter((record) => typeof (record.data as { title?: unknown } | null)?.title !== 'string').length
    if (unreadable > 0) throw new Error(`the ${kind.name} store holds ${unreadable} records without their plaintext after the sync`)
    return { seconds, ...usage }
  } finally {
    memory?.stop()
    await roost.close()
    cleanup()
  }
}

/** The same in Chromium, into the IndexedDB store, timed in the page (createRoost to whenSynced()). */
async function syncInBrowser(target: RoostTarget, state: State, browser: BenchBrowser, records: number) {
  const storeName = `roost-bench-${randomBytes(6).toString('hex')}`
  const { recoveryPhrase } = state
  const result = await browser.initialSync({ url: target.url, accessToken: target.accessToken, collectionId: state.collectionId, storeName, ...(recoveryPhrase === undefined ? {} : { recoveryPhrase }) })
  if (result.records !== records) throw new Error(`the IndexedDB store holds ${result.records} records after the sync, not ${records}`)
  return result
}

/** Said in the descriptions (W6, W6e) when the IndexedDB store is not measured in this run. */
export const browserNote = () => (browserSkipped ? ` — not measured in this run: ${browserSkipped}` : '')

/**
 * The collection a new device pulls: `syncRecords` records of the usual
 * payload, uploaded in requests of 1000. Encrypted (W6e): the user's account
 * keys and key epoch 1 first, then every record's data sealed with the
 * collection key in this process (a chunk's records concurrently) before it
 * is uploaded, as the writing devices would have done.
 */
async function seedCollection(target: RoostTarget, settings: Settings, encrypted: boolean): Promise<{ collectionId: string; recoveryPhrase?: string }> {
  const collectionId = await target.newCollection()
  const key = encrypted ? await encryptCollection(target, collectionId) : undefined
  for (let from = 0; from < settings.syncRecords; from += 1000) {
    const records = await Promise.all(
      Array.from({ length: Math.min(1000, settings.syncRecords - from) }, async (_, index) => {
        const id = `s${from + index}`
        const data = payload(from + index)
        return { id, data: key ? await seal(key, id, data) : data }
      })
    )
    await target.http.json('POST', `/collections/${collectionId}/records`, records)
  }
  return key ? { collectionId, recoveryPhrase: (await benchAccount(target)).recoveryPhrase } : { collectionId }
}

/** Setup of W6 (plaintext) and W6e (encrypted): the collection, the stores, and Chromium for the IndexedDB store. */
export async function prepareInitialSync(target: Target, settings: Settings, encrypted: boolean): Promise<State> {
  const kinds = clientStores()
  const seeded = await seedCollection(target as RoostTarget, settings, encrypted)
  await target.database.analyze()
  if (browserSkipped) {
    console.log(`  ${target.name}: the IndexedDB store in Chromium is skipped: ${browserSkipped}`)
    return { ...seeded, kinds }
  }
  try {
    return { ...seeded, kinds, browser: await BenchBrowser.launch() }
  } catch (error) {
    // The Node stores are still worth measuring: say why the browser's is missing.
    console.log(`  ${target.name}: FAILED to launch Chromium, the IndexedDB store is skipped: ${(error as Error).message.split('\n')[0]}`)
    return { ...seeded, kinds }
  }
}

/** What W6 and W6e share: the metrics (the same keys, so that W6e's goal divides like by like), the stores, the timed run. */
export const initialSyncParts = {
  metrics: [
    { key: 'memorySeconds', label: 'memory store: seconds', unit: 's', better: 'lower' },
    { key: 'memoryPeakRssMiB', label: 'memory store: client peak RSS', unit: 'MiB', better: 'lower' },
    { key: 'memoryHeapGrowthMiB', label: 'memory store: client heap growth', unit: 'MiB', better: 'lower' },
    { key: 'sqliteSeconds', label: 'SQLite store: seconds', unit: 's', better: 'lower' },
    { key: 'sqlitePeakRssMiB', label: 'SQLite store: client peak RSS', unit: 'MiB', better: 'lower' },
    { key: 'sqliteHeapGrowthMiB', label: 'SQLite store: client heap growth', unit: 'MiB', better: 'lower' },
    { key: 'indexeddbSeconds', label: 'IndexedDB (Chromium): seconds', unit: 's', better: 'lower' },
    { key: 'indexeddbHeapGrowthMiB', label: 'IndexedDB (Chromium): page heap growth', unit: 'MiB', better: 'lower' }
  ],
  async browserOrigins() {
    if (browserSkipped) return []
    try {
      return [await benchPageOrigin()]
    } catch (error) {
      browserSkipped = `the page could not be bundled or served: ${(error as Error).message}`
      throw error
    }
  },
  unsupported: (target: Target) => (target.kind === 'roost' ? undefined : 'no client library'),
  async run(target: Target, state: State, settings: Settings): Promise<RunResult> {
    const values: Record<string, number> = {}
    for (const kind of state.kinds) {
      const result = await syncOnce(target as RoostTarget, state, kind, settings.syncRecords)
      values[`${kind.name}Seconds`] = result.seconds
      values[`${kind.name}PeakRssMiB`] = result.peakRssMiB
      values[`${kind.name}HeapGrowthMiB`] = result.heapGrowthMiB
    }
    if (state.browser) {
      const result = await syncInBrowser(target as RoostTarget, state, state.browser, settings.syncRecords)
      values.indexeddbSeconds = result.seconds
      if (result.heapGrowthMiB !== null) values.indexeddbHeapGrowthMiB = result.heapGrowthMiB
    }
    return { values, operations: settings.syncRecords * (state.kinds.length + (state.browser ? 1 : 0)) }
  },
  async finish(state: State) {
    await state.browser?.close()
  }
} satisfies Omit<Workload<State>, 'id' | 'title' | 'description' | 'prepare'>

export const w6InitialSync: Workload<State> = {
  id: 'W6',
  title: 'Initial sync with the client library',
  description: (settings: Settings) =>
    `A new device: a fresh client of the client library (\`roost/client\`, in the benchmark process, signed in with the target user's token, realtime on as by default) ` +
    `opens a collection holding ${settings.syncRecords.toLocaleString('en')} records and pulls all of it (pages of 1000) into an empty store: ` +
    'seconds until `whenSynced()` resolves, and the benchmark process\'s peak RSS and JS heap growth meanwhile (sampled every 5 ms). ' +
    'Once into the memory store, once into the SQLite store (`roost/client/sqlite`, a file in a temporary folder) when it is there, ' +
    'and once in Chromium (headless, Debian\'s build) into the IndexedDB store (`roost/client/indexeddb`, a new database each run, `realtime: false`, ' +
    'the page on an origin of its own that the server allows by CORS): timed in the page from `createRoost` to `whenSynced()`, with the page\'s ' +
    'JS heap growth (`performance.memory`, precise, sampled every 5 ms; Chromium\'s own processes are not in the RSS or CPU columns)' +
    browserNote() +
    '. Roost only.',
  ...initialSyncParts,
  prepare: (target, settings) => prepareInitialSync(target, settings, false)
}
