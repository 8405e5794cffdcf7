import { payload } from '../lib/payload.js'
import { now } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

/** Where the seeded records are: a Roost or raw collection, or the plain app's items after `afterId`. */
export interface FeedState {
  collectionId: string
  afterId: number
  seedSeconds: number
}

/**
 * Seeds `count` new records in bulk. With `analyze`, PostgreSQL then gets an
 * `ANALYZE` (W3, as autovacuum would do on a running server); without it the
 * read comes right after the bulk load (W3b), on whatever statistics the
 * table had before.
 */
export async function seed(target: Target, count: number, options: { analyze: boolean }): Promise<FeedState> {
  const start = now()
  const records = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => ({ id: `f${from + index}`, data: payload(from + index) }))
  let state: FeedState
  if (target.kind === 'roost') {
    // Through Roost's own bulk create, so the feed is exactly what Roost writes.
    const collectionId = await target.newCollection()
    for (let from = 0; from < count; from += 1000) {
      await target.http.json('POST', `/collections/${collectionId}/records`, records(from, Math.min(count, from + 1000)))
    }
    state = { collectionId, afterId: 0, seedSeconds: 0 }
  } else if (target.kind === 'feathers') {
    const first = await target.seedItems(count, (index) => payload(index))
    state = { collectionId: '', afterId: first - 1, seedSeconds: 0 }
  } else {
    const collectionId = `feed-${Date.now().toString(36)}`
    for (let from = 0; from < count; from += 10_000) await target.db.insert(collectionId, records(from, Math.min(count, from + 10_000)))
    state = { collectionId, afterId: 0, seedSeconds: 0 }
  }
  state.seedSeconds = (now() - start) / 1000
  if (options.analyze) await target.database.analyze()
  return state
}

/** Reads everything from the start, page by page; returns the number of records read. */
export async function readAll(target: Target, state: FeedState, pageSize: number): Promise<number> {
  let read = 0
  if (target.kind === 'roost') {
    let cursor = ''
    for (let more = true; more; ) {
      const page = await target.http.json<{ changes: unknown[]; cursor: string; more: boolean }>(
        'GET',
        `/collections/${state.collectionId}/changes?limit=${pageSize}${cursor ? `&since=${encodeURIComponent(cursor)}` : ''}`
      )
      read += page.changes.length
      cursor = page.cursor
      more = page.more
    }
  } else if (target.kind === 'feathers') {
    // Feathers' fastest find: the page without a count (`$paginate=false`, feathers-app.ts), until a short page.
    let last = state.afterId
    for (let more = true; more; ) {
      const page = await target.http.json<Array<{ id: number }>>('GET', `/items?id[$gt]=${last}&$sort[id]=1&$limit=${pageSize}&$paginate=false`)
      read += page.length
      last = page.at(-1)?.id ?? last
      more = page.length === pageSize
    }
  } else {
    let since = 0
    for (let more = true; more; ) {
      const rows = await target.db.changesSince(state.collectionId, since, pageSize)
      read += rows.length
      since = rows.at(-1)?.seq ?? since
      more = rows.length === pageSize
    }
  }
  return read
}

export const w3Feed: Workload<FeedState> = {
  id: 'W3',
  title: 'Change-feed catch-up',
  description: (settings: Settings) =>
    `Read a ${settings.feedRecords.toLocaleString('en')}-record collection from the start in pages of ${settings.feedPage}. ` +
    'Roost: `GET /collections/:c/changes?since=<cursor>&limit=…` until `more` is false (seeded through Roost\'s bulk create); ' +
    'plain Feathers: `GET /items?id[$gt]=<last>&$sort[id]=1&$limit=…&$paginate=false` (its fastest find: the page without a count; seeded with raw INSERTs); ' +
    'raw: `SELECT … WHERE collection_id = ? AND seq > ? ORDER BY seq LIMIT …`, JSON-parsing `data` like the servers do. ' +
    'On PostgreSQL every target runs `ANALYZE` after seeding, as autovacuum would on a running server.',
  metrics: [{ key: 'recordsPerSecond', label: 'records/s', unit: '/s', better: 'higher' }],
  async prepare(target, settings) {
    const state = await seed(target, settings.feedRecords, { analyze: true })
    console.log(`    ${target.name}: seeded ${settings.feedRecords} records in ${state.seedSeconds.toFixed(1)} s`)
    return state
  },
  async run(target, state, settings): Promise<RunResult> {
    const start = now()
    const read = await readAll(target, state, settings.feedPage)
    const seconds = (now() - start) / 1000
    if (read !== settings.feedRecords) throw new Error(`read ${read} records, expected ${settings.feedRecords}`)
    return { operations: read, values: { recordsPerSecond: read / seconds } }
  }
}
