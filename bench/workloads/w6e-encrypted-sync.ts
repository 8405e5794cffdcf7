import { browserNote, initialSyncParts, prepareInitialSync, type InitialSyncState } from './w6-initial-sync.js'
import type { Settings, Workload } from './types.js'

/**
 * W6 on an end-to-end encrypted collection (issue 16): the same records,
 * sealed, pulled by the same kinds of new device, which must fetch and
 * unwrap the collection key and decrypt every record before `whenSynced()`.
 * Its own workload rather than a flag of W6, like W1s: both run in one
 * `npm run bench`, each with its own table, and its goal divides by W6's
 * median of the same run.
 */
export const w6eEncryptedSync: Workload<InitialSyncState> = {
  id: 'W6e',
  title: 'Initial sync of an end-to-end encrypted collection',
  description: (settings: Settings) =>
    `W6 with end-to-end encryption on: the collection of ${settings.syncRecords.toLocaleString('en')} records is encrypted (the target user's account keys made with ` +
    '`roost.account.create()`, key epoch 1 with the collection key wrapped for the user, each record\'s data the envelope of the same payload, ' +
    'sealed in the benchmark process during setup). Each new device first imports the account\'s keys with `roost.account.importRecoveryPhrase()`, ' +
    'not timed (once per device, not per sync; in Chromium by a first client on the same IndexedDB database, closed before the timed one starts, ' +
    'so that the page still times `createRoost` to `whenSynced()`), then opens the collection with `encrypted: true`: ' +
    'the time covers fetching and unwrapping the collection key (HPKE) and decrypting every record (AES-256-GCM: in Node node:crypto\'s, `aesGcm: nodeAesGcm` from `roost/client/node`, as a Node app would use it, Node\'s WebCrypto costing about 50 µs a call; in Chromium WebCrypto) as well as W6\'s work. ' +
    'Same stores and measurements as W6' +
    browserNote() +
    '. Roost only.',
  ...initialSyncParts,
  prepare: (target, settings) => prepareInitialSync(target, settings, true)
}
