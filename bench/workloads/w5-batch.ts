import { payload } from '../lib/payload.js'
import { now } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

interface BatchAnswer {
  id: string
  status: string
  results?: unknown[]
}

let runs = 0

/** Stages `operations` new records and commits them; returns the commit's and (Roost) the staging's milliseconds. */
async function commitOnce(target: Target, operations: number, appends: number): Promise<{ commitMs: number; stagingMs?: number }> {
  const collectionId = target.kind === 'roost' ? await target.newCollection() : `batch-${runs++}`
  const records = Array.from({ length: operations }, (_, index) => ({ id: `w${index}`, data: payload(index) }))
  if (target.kind === 'roost') {
    const staging = now()
    const batch = await target.http.json<BatchAnswer>('POST', '/batches', { expectedOperations: operations })
    const perAppend = Math.ceil(operations / appends)
    for (let from = 0; from < operations; from += perAppend) {
      const chunk = records.slice(from, from + perAppend).map((record) => ({ op: 'put', collectionId, id: record.id, data: record.data, ifNotExists: true }))
      await target.http.json('POST', '/batches', { id: batch.id, operations: chunk }, { 'x-service-method': 'append' })
    }
    const committing = now()
    const committed = await target.http.json<BatchAnswer>('POST', '/batches', { id: batch.id }, { 'x-service-method': 'commit' })
    const commitMs = now() - committing
    if (committed.status !== 'committed' || committed.results?.length !== operations) {
      throw new Error(`batch ${batch.id}: ${committed.status} with ${committed.results?.length} results, expected ${operations}`)
    }
    // Untimed: the records are visible to readers now.
    const { total } = await target.http.json<{ total: number }>('GET', `/collections/${collectionId}/records?$limit=0`)
    if (total !== operations) throw new Error(`${total} of ${operations} committed records are visible`)
    return { commitMs, stagingMs: committing - staging }
  }
  const start = now()
  if (target.kind === 'feathers') {
    const created = await target.http.json<unknown[]>('POST', '/items', records.map((record) => ({ data: record.data, version: 1 })))
    if (created.length !== operations) throw new Error(`created ${created.length} of ${operations} items`)
  } else {
    await target.db.insert(collectionId, records)
  }
  return { commitMs: now() - start }
}

export const w5Batch: Workload<void> = {
  id: 'W5',
  title: 'Batch commit',
  description: (settings: Settings) =>
    `A ${settings.batchOperations.toLocaleString('en')}-operation batch of new records. ` +
    `Roost: \`POST /batches\`, ${settings.batchAppends} appends (\`X-Service-Method: append\`), then the timed \`commit\`; ` +
    `plain Feathers (reference): one \`POST /items\` of ${settings.batchOperations} items in one transaction; ` +
    `raw (reference): one transaction inserting ${settings.batchOperations} rows. "Records visible/s" is operations ÷ commit time.`,
  metrics: [
    { key: 'commitMs', label: 'commit', unit: 'ms', better: 'lower' },
    { key: 'recordsPerSecond', label: 'records visible/s', unit: '/s', better: 'higher' },
    { key: 'stagingMs', label: 'open + appends', unit: 'ms', better: 'lower' }
  ],
  async prepare(target, settings) {
    await commitOnce(target, Math.min(100, settings.batchOperations), 1) // warm-up, not measured
  },
  async run(target, _state, settings): Promise<RunResult> {
    const { commitMs, stagingMs } = await commitOnce(target, settings.batchOperations, settings.batchAppends)
    return {
      operations: settings.batchOperations,
      values: {
        commitMs,
        recordsPerSecond: settings.batchOperations / (commitMs / 1000),
        ...(stagingMs === undefined ? {} : { stagingMs })
      }
    }
  }
}
