import { payload } from '../lib/payload.js'
import { now, percentile } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import { createSlots, writeRecord, type Slot } from './common.js'
import type { RunResult, Settings, Workload } from './types.js'

const RECORDS_PER_CLIENT = 20

interface State {
  clients: Slot[][]
  next: number
}

/** Every client writes its own records, one write at a time, as fast as the target answers. */
async function drive(target: Target, state: State, seconds: number): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = []
  const start = now()
  const end = start + seconds * 1000
  await Promise.all(
    state.clients.map(async (slots) => {
      for (let index = 0; now() < end; index++) {
        const slot = slots[index % slots.length]
        const sent = now()
        await writeRecord(target, slot, payload(state.next++))
        latencies.push(now() - sent)
      }
    })
  )
  return { latencies, elapsedMs: now() - start }
}

export const w1Writes: Workload<State> = {
  id: 'W1',
  title: 'Versioned writes',
  description: (settings: Settings) =>
    `${settings.clients} concurrent clients, each updating its own ${RECORDS_PER_CLIENT} records in turn with base versions, for ${settings.seconds} s. ` +
    'Roost: `PUT /collections/:c/records/:id` with `{ data, version }` (one collection per client, one user); ' +
    'plain Feathers: `PATCH /items/:id`; raw: `UPDATE … WHERE collection_id = ? AND id = ? AND version = ?` (a pg pool of 16 connections; SQLite is synchronous, so its 16 clients take turns).',
  metrics: [
    { key: 'writesPerSecond', label: 'writes/s', unit: '/s', better: 'higher' },
    { key: 'p50Ms', label: 'p50', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99', unit: 'ms', better: 'lower' }
  ],
  async prepare(target, settings) {
    const state: State = { clients: await createSlots(target, settings.clients, RECORDS_PER_CLIENT), next: 0 }
    await drive(target, state, Math.min(1, settings.seconds / 4)) // warm-up, not measured
    return state
  },
  async run(target, state, settings): Promise<RunResult> {
    const { latencies, elapsedMs } = await drive(target, state, settings.seconds)
    return {
      operations: latencies.length,
      values: {
        writesPerSecond: latencies.length / (elapsedMs / 1000),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99)
      }
    }
  }
}
