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

/** Sends the requests one at a time; returns each one's latency. */
async function insert(target: Target, batch: Request[]): Promise<number[]> {
  const collectionId = target.kind === 'roost' ? await target.newCollection() : `bulk-${runs++}`
  const latencies: number[] = []
  for (const { records, body } of batch) {
    const sent = now()
    if (target.kind === 'roost') {
      const created = await target.http.json<unknown[]>('POST', `/collections/${collectionId}/records`, body)
      if (created.length !== records.length) throw new Error(`created ${created.length} of ${records.length} records`)
    } else if (target.kind === 'feathers') {
      const created = await target.http.json<unknown[]>('POST', '/items', body)
      if (created.length !== records.length) throw new Error(`created ${created.length} of ${records.length} items`)
    } else {
      await target.db.insert(collectionId, records)
    }
    latencies.push(now() - sent)
  }
  return latencies
}

export const w2Bulk: Workload<void> = {
  id: 'W2',
  title: 'Bulk insert',
  description: (settings: Settings) =>
    `${settings.bulkRecords.toLocaleString('en')} new records of about 200 bytes in requests of ${settings.bulkChunk}, one request at a time (bodies serialised before the clock starts). ` +
    'Roost: `POST /collections/:c/records` with an array (one transaction per request) into a new collection each run; ' +
    'plain Feathers: `POST /items` with an array (one INSERT and one SELECT per item, in one transaction per request); ' +
    `raw: one transaction of ${settings.bulkChunk} INSERTs (SQLite, prepared statement) or one multi-row INSERT (pg).`,
  metrics: [
    { key: 'recordsPerSecond', label: 'records/s', unit: '/s', better: 'higher' },
    { key: 'requestP50Ms', label: 'request p50', unit: 'ms', better: 'lower' }
  ],
  async prepare(target, settings) {
    // Warm-up, not measured: enough requests for the JIT to settle on both sides.
    await insert(target, requests(target, settings.bulkChunk * 8, settings.bulkChunk))
  },
  async run(target, _state, settings): Promise<RunResult> {
    const batch = requests(target, settings.bulkRecords, settings.bulkChunk)
    const start = now()
    const latencies = await insert(target, batch)
    const seconds = (now() - start) / 1000
    return {
      operations: settings.bulkRecords,
      values: { recordsPerSecond: settings.bulkRecords / seconds, requestP50Ms: percentile(latencies, 50) }
    }
  }
}
