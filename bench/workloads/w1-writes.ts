import { payload, type Payload } from '../lib/payload.js'
import { now, percentile } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import { createSlots, writeRecord, type RecordData, type RoostWrite, type Slot, type SlotLayout } from './common.js'
import type { Metric, RunResult, Settings, Workload } from './types.js'

export const RECORDS_PER_CLIENT = 20

export interface WritesState {
  clients: Slot[][]
  next: number
  roostWrite: RoostWrite
  /** W1e: what each write's data becomes before it is sent (an envelope), inside the write's latency as in an app. */
  seal?: (slot: Slot, data: Payload) => Promise<RecordData>
}

/** Every client writes its own records, one write at a time, as fast as the target answers. */
async function drive(target: Target, state: WritesState, seconds: number): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = []
  const start = now()
  const end = start + seconds * 1000
  await Promise.all(
    state.clients.map(async (slots) => {
      for (let index = 0; now() < end; index++) {
        const slot = slots[index % slots.length]
        const sent = now()
        const data = payload(state.next++)
        await writeRecord(target, slot, state.seal ? await state.seal(slot, data) : data, state.roostWrite)
        latencies.push(now() - sent)
      }
    })
  )
  return { latencies, elapsedMs: now() - start }
}

export const WRITE_METRICS: Metric[] = [
  { key: 'writesPerSecond', label: 'writes/s', unit: '/s', better: 'higher' },
  { key: 'p50Ms', label: 'p50', unit: 'ms', better: 'lower' },
  { key: 'p99Ms', label: 'p99', unit: 'ms', better: 'lower' }
]

/** Creates the clients' records as `layout` says, and warms up (not measured). */
export async function prepareWrites(
  target: Target,
  settings: Settings,
  layout: Omit<SlotLayout, 'groups' | 'perGroup'>,
  roostWrite: RoostWrite,
  /** W1e: makes the clients' collections encrypted and returns how a write's data is sealed. */
  encrypt?: (clients: Slot[][]) => Promise<WritesState['seal']>
): Promise<WritesState> {
  const clients = await createSlots(target, { groups: settings.clients, perGroup: RECORDS_PER_CLIENT, ...layout })
  const state: WritesState = { clients, next: 0, roostWrite, seal: await encrypt?.(clients) }
  await drive(target, state, Math.min(1, settings.seconds / 4))
  return state
}

/** One timed run: every client writes for `settings.seconds`. */
export async function runWrites(target: Target, state: WritesState, settings: Settings): Promise<RunResult> {
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

export const w1Writes: Workload<WritesState> = {
  id: 'W1',
  title: 'Versioned writes',
  description: (settings: Settings) =>
    `${settings.clients} concurrent clients, each updating its own ${RECORDS_PER_CLIENT} records in turn with base versions, for ${settings.seconds} s. ` +
    'Roost: `PUT /collections/:c/records/:id` with `{ data, version }` (one collection per client, one user); ' +
    'plain Feathers: `PATCH /items/:id`; raw: `UPDATE … WHERE collection_id = ? AND id = ? AND version = ?` (a pg pool of 16 connections; SQLite is synchronous, so its 16 clients take turns).',
  metrics: WRITE_METRICS,
  prepare: (target, settings) => prepareWrites(target, settings, { shared: false }, 'PUT'),
  run: runWrites
}
