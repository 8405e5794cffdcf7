import { prepareWrites, RECORDS_PER_CLIENT, runWrites, WRITE_METRICS, type WritesState } from './w1-writes.js'
import type { Settings, Workload } from './types.js'

/**
 * W1 as a team uses Roost: every client writes its own records, but all of
 * them in one collection, so every write takes the same collection's next
 * position. Plain Feathers and raw have no collection to share: they run
 * exactly W1 (raw's rows all carry one collection id, which costs it
 * nothing: its positions are counted in this process), so Roost's ratio to
 * them shows what sharing costs Roost alone.
 */
export const w1sSharedWrites: Workload<WritesState> = {
  id: 'W1s',
  title: 'Versioned writes, one shared collection',
  description: (settings: Settings) =>
    `W1 in one shared collection: ${settings.clients} concurrent clients, each updating its own ${RECORDS_PER_CLIENT} records in turn with base versions, for ${settings.seconds} s, ` +
    'all the records in one collection created for the run. ' +
    'Roost: `PATCH /collections/:c/records/:id` with `{ data, version }` (one user); ' +
    'plain Feathers: `PATCH /items/:id`, as in W1; raw: `UPDATE … WHERE collection_id = ? AND id = ? AND version = ?`, as in W1 (a pg pool of 16 connections), all rows in one collection.',
  metrics: WRITE_METRICS,
  prepare: (target, settings) => prepareWrites(target, settings, { shared: true }, 'PATCH'),
  run: runWrites
}
