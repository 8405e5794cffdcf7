/**
 * The page side of W6 in Chromium: a fresh client of the client library on
 * the IndexedDB store pulls a collection, timed in the page from createRoost
 * to whenSynced(). Bundled for the browser (esbuild) and driven from the
 * benchmark process through `window.initialSync` (see bench/lib/browser-client.ts).
 */
import { createRoost } from '../../src/client/index.js'
import { indexedDbStore } from '../../src/client/stores/indexeddb.js'

export interface InitialSyncArgs {
  url: string
  accessToken: string
  collectionId: string
  /** A database name no earlier run used: the store starts empty. */
  storeName: string
  /**
   * W6e: the collection is end-to-end encrypted. A first client on the same
   * database imports the account's keys from this phrase and closes, before
   * the clock starts; the timed client then finds them in its store.
   */
  recoveryPhrase?: string
}

export interface InitialSyncResult {
  seconds: number
  /** Live records in the store after the sync. */
  records: number
  /** The page's peak JS heap during the sync minus where it started (MiB); null without performance.memory. */
  heapGrowthMiB: number | null
}

/** Chromium's non-standard performance.memory: precise only with --enable-precise-memory-info (otherwise bucketed and cached). */
const usedHeap = (): number | undefined => (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name)
    // "blocked" is not a failure: the client's connection closes once its last transactions end, and the deletion then goes through.
    const timer = setTimeout(() => reject(new Error(`deleting IndexedDB database ${name} did not finish within 30 s (a connection left open?)`)), 30_000)
    request.onsuccess = () => {
      clearTimeout(timer)
      resolve()
    }
    request.onerror = () => {
      clearTimeout(timer)
      reject(request.error ?? new Error(`deleting IndexedDB database ${name} failed`))
    }
  })
}

/** The account's keys into the store, as a device does once (not timed): W6e's timed client then starts with them. */
async function importAccount(args: InitialSyncArgs, recoveryPhrase: string): Promise<void> {
  const roost = createRoost({ url: args.url, auth: { accessToken: args.accessToken }, store: indexedDbStore(args.storeName), realtime: false })
  try {
    await roost.account.importRecoveryPhrase(recoveryPhrase)
  } finally {
    await roost.close()
  }
}

async function initialSync(args: InitialSyncArgs): Promise<InitialSyncResult> {
  if (args.recoveryPhrase !== undefined) await importAccount(args, args.recoveryPhrase)
  const startHeap = usedHeap()
  let peakHeap = startHeap
  // Sampled every 5 ms as the benchmark process samples its own heap for the Node stores.
  const timer = setInterval(() => {
    const heap = usedHeap()
    if (heap !== undefined && peakHeap !== undefined) peakHeap = Math.max(peakHeap, heap)
  }, 5)
  const start = performance.now()
  const store = indexedDbStore(args.storeName)
  const roost = createRoost({ url: args.url, auth: { accessToken: args.accessToken }, store, realtime: false })
  try {
    roost.collection(args.collectionId, { create: false, ...(args.recoveryPhrase === undefined ? {} : { encrypted: true }) })
    await roost.whenSynced()
    const seconds = (performance.now() - start) / 1000
    const end = usedHeap()
    if (end !== undefined && peakHeap !== undefined) peakHeap = Math.max(peakHeap, end)
    clearInterval(timer)
    // Only records with their plaintext count (an encrypted one that failed to decrypt is not one).
    const records = (await store.listRecords(args.collectionId)).filter((record) => !record.deleted && typeof (record.data as { title?: unknown } | null)?.title === 'string').length
    const heapGrowthMiB = startHeap === undefined || peakHeap === undefined ? null : (peakHeap - startHeap) / 2 ** 20
    return { seconds, records, heapGrowthMiB }
  } finally {
    clearInterval(timer)
    await roost.close()
    // The profile lives for the whole workload: each run's database goes once it is measured.
    await deleteDatabase(args.storeName)
  }
}

Object.assign(window, { initialSync })
