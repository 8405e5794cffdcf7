import type { Workload } from './types.js'

/** Not available yet: there is no client-side sync library to measure. */
export const w6InitialSync: Workload<void> = {
  id: 'W6',
  title: 'Initial sync with the client library',
  description: () => 'A new device pulling a collection through the client library.',
  metrics: [{ key: 'recordsPerSecond', label: 'records/s', unit: '/s', better: 'higher' }],
  skipped:
    'Roost has no client-side sync library yet (src/client.ts is a typed Feathers client without a sync loop or local store); ' +
    'W6 will measure it once it exists.',
  async prepare() {
    throw new Error('W6 is skipped')
  },
  async run() {
    throw new Error('W6 is skipped')
  }
}
