import { JsonText } from '../lib/http.js'
import { payload } from '../lib/payload.js'
import { now, percentile } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

let runs = 0

interface Request {
  records: Array<{ id: string; data: unknown }>
  /** The request body each server target is sent, serialised before the clock starts. */
  body: JsonText
}

/** The requests that insert `count` new records in requests of `chunk`. */
function requests(target: Target, count: number, chunk: number): Request[] {
  const made: Request[] = []
  for (let start = 0; start < count; start += chunk) {
    const records = Array.from({ length: Math.min(chunk, count - start) }, (_, index) => ({ id: `b${start + index}`, data: payload(start + index) }))
    const body = target.kind === 'feathers' ? records.map((record) => ({ data: record.data, version: 1 })) : records
    made.push({ records, body: target.kind === 'raw' ? new JsonText('') : JsonText.of(body) })
  }
  return made
}

/** Sends the requests one at a time into a new collection (table, for raw); returns each one's latency. */
async function insert(target: Target, collectionId: string, batch: Request[]): Promise<number[]> {
  const latencies: number[] = []
  for (const { records, body } of batch) {
    const sent = now()
    if (target.kind === 'roost') await target.http.ok('POST', `/collections/${collectionId}/records`, body)
    else if (target.kind === 'feathers') await target.http.ok('POST', '/items', body)
    else await target.db.insert(collectionId, records)
    latencies.push(now() - sent)
  }
  return latencies
}

/** Where a run inserts: a new Roost collection, or a new name (raw); plain Feathers has one table. */
const destination = async (target: Target): Promise<string> => (target.kind === 'roost' ? target.newCollection() : `bulk-${runs++}`)

/** Records stored at the destination (for plain Feathers: in its one table), to check a run after the clock stops. */
async function stored(target: Target, collectionId: string): Promise<number | undefined> {
  if (target.kind === 'roost') return (await target.http.json<{ total: number }>('GET', `/collections/${collectionId}/records?$limit=0`)).total
  if (target.kind === 'feathers') return (await target.http.json<{ total: number }>('GET', '/items?$limit=0')).total
  return undefined
}

/** Inserts the batch at a new destination, timed; then checks, after the clock stopped, that every record was stored. */
async function insertChecked(target: Target, batch: Request[]): Promise<{ latencies: number[]; seconds: number }> {
  const collectionId = await destination(target)
  const before = (await stored(target, collectionId)) ?? 0
  const start = now()
  const latencies = await insert(target, collectionId, batch)
  const seconds = (now() - start) / 1000
  const count = batch.reduce((sum, request) => sum + request.records.length, 0)
  const after = await stored(target, collectionId)
  if (after !== undefined && after - before !== count) throw new Error(`${target.name} stored ${after - before} of ${count} records`)
  return { latencies, seconds }
}

export const w2Bulk: Workload<void> = {
  id: 'W2',
  title: 'Bulk insert',
  description: (settings: Settings) =>
    `${settings.bulkRecords.toLocaleString('en')} new records of about 200 bytes in requests of ${settings.bulkChunk}, one request at a time (bodies serialised before the clock starts, answers received in full but not parsed; the records stored are counted after the clock stops). ` +
    'Roost: `POST /collections/:c/records` with an array (one transaction per request) into a new collection each run; ' +
    'plain Feathers: `POST /items` with an array (one INSERT and one SELECT per item, in one transaction per request); ' +
    `raw: one transaction of ${settings.bulkChunk} INSERTs (SQLite, prepared statement) or one multi-row INSERT (pg).`,
  metrics: [
    { key: 'recordsPerSecond', label: 'records/s', unit: '/s', better: 'higher' },
    { key: 'requestP50Ms', label: 'request p50', unit: 'ms', better: 'lower' }
  ],
  async prepare(target, settings) {
    // Warm-up, not measured: enough requests for the JIT to settle on both
    // sides (with 8 requests, the first timed run was still a quarter slower).
    for (let round = 0; round < 3; round++) {
      await insertChecked(target, requests(target, Math.max(settings.bulkRecords, settings.bulkChunk * 8), settings.bulkChunk))
    }
  },
  async run(target, _state, settings): Promise<RunResult> {
    const { latencies, seconds } = await insertChecked(target, requests(target, settings.bulkRecords, settings.bulkChunk))
    return {
      operations: settings.bulkRecords,
      values: { recordsPerSecond: settings.bulkRecords / seconds, requestP50Ms: percentile(latencies, 50) }
    }
  }
}
