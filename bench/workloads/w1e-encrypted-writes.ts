import { encryptCollection, seal, type SealingKey } from '../lib/e2e.js'
import type { RoostTarget, Target } from '../targets/types.js'
import { prepareWrites, RECORDS_PER_CLIENT, runWrites, WRITE_METRICS, type WritesState } from './w1-writes.js'
import type { Settings, Workload } from './types.js'

/**
 * W1 with end-to-end encryption on (issue 16): each client's collection is
 * encrypted (key epoch 1, its key wrapped for the user), and every write's
 * data is an envelope the load generator seals just before sending it, with
 * the collection key, as an app's device does; its CPU is the load
 * generator's. Roost only: plain Feathers and raw have no notion of
 * encryption, and what W1e asks is what encryption costs Roost, which its
 * ratio to W1 of the same run says (same targets, same run, same clients).
 * The clients' records start as W1's (plaintext); the warm-up's sealed
 * writes replace them before the timed runs.
 */
export const w1eEncryptedWrites: Workload<WritesState> = {
  id: 'W1e',
  title: 'Versioned writes, end-to-end encrypted',
  description: (settings: Settings) =>
    `W1 with end-to-end encryption on: ${settings.clients} concurrent clients, each updating its own ${RECORDS_PER_CLIENT} records in turn with base versions, for ${settings.seconds} s, ` +
    'each client\'s collection end-to-end encrypted (key epoch 1, the collection key wrapped for the user), every write\'s data the envelope of W1\'s payload: ' +
    'sealed by the load generator (AES-256-GCM with WebCrypto, a fresh nonce per write) right before it is sent, inside the write\'s latency, its CPU in "load gen. CPU". ' +
    'Roost: `PUT /collections/:c/records/:id` with `{ data: envelope, version }`, as in W1. Roost only (the other targets have no notion of encryption): ' +
    'the goal compares it with W1 of the same run.',
  metrics: WRITE_METRICS,
  unsupported: (target: Target) => (target.kind === 'roost' ? undefined : 'no end-to-end encryption'),
  prepare: (target, settings) =>
    prepareWrites(target, settings, { shared: false }, 'PUT', async (clients) => {
      const keys = new Map<string, SealingKey>()
      for (const collectionId of new Set(clients.flat().map((slot) => slot.collectionId))) {
        keys.set(collectionId, await encryptCollection(target as RoostTarget, collectionId))
      }
      return (slot, data) => seal(keys.get(slot.collectionId)!, slot.id, data)
    }),
  run: runWrites
}
