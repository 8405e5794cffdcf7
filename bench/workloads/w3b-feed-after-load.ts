import { now } from '../lib/stats.js'
import type { Target } from '../targets/types.js'
import { readAll, seed, type FeedState } from './w3-feed.js'
import type { RunResult, Settings, Workload } from './types.js'

/** Reads the seeded records once; throws unless all of them came back. */
async function timedRead(target: Target, state: FeedState, settings: Settings): Promise<number> {
  const start = now()
  const read = await readAll(target, state, settings.feedPage)
  const seconds = (now() - start) / 1000
  if (read !== settings.feedRecords) throw new Error(`read ${read} records, expected ${settings.feedRecords}`)
  return read / seconds
}

/**
 * W3 as a client meets it right after a bulk import: the feed is read before
 * PostgreSQL has statistics that know the new rows, then again after
 * `ANALYZE`. Each run loads its own collection (the first read of a run must
 * be the first read after a load, and the ANALYZE of one run must not help
 * the next), so the load is inside the run: its CPU figures include it, the
 * rates do not. W3 itself keeps its one seeding and its ANALYZE, so its
 * numbers stay comparable with earlier runs.
 */
export const w3bFeedAfterLoad: Workload<undefined> = {
  id: 'W3b',
  title: 'Change-feed catch-up after a bulk load',
  description: (settings: Settings) =>
    `W3 right after a bulk load: each run seeds a new ${settings.feedRecords.toLocaleString('en')}-record collection as W3 does (untimed), ` +
    `reads it from the start in pages of ${settings.feedPage} at once, twice, with no \`ANALYZE\` in between (before autovacuum would have analyzed the table), ` +
    'then runs `ANALYZE` (PostgreSQL; nothing on SQLite) and reads it a third time. The same requests as W3 on every target. ' +
    '"After load" is the second read, so that it and "after ANALYZE" differ only in the statistics, not in warm caches; "first read" is the first. ' +
    'In a full run the table already holds the earlier workloads\' rows and their statistics; run alone, the table has never been analyzed.',
  metrics: [
    { key: 'afterLoadRecordsPerSecond', label: 'after load records/s', unit: '/s', better: 'higher' },
    { key: 'afterAnalyzeRecordsPerSecond', label: 'after ANALYZE records/s', unit: '/s', better: 'higher' },
    { key: 'firstReadRecordsPerSecond', label: 'first read records/s', unit: '/s', better: 'higher' },
    { key: 'loadSeconds', label: 'bulk load', unit: 's', better: 'lower' }
  ],
  async prepare() {
    return undefined
  },
  async run(target, _state, settings): Promise<RunResult> {
    const state = await seed(target, settings.feedRecords, { analyze: false })
    const firstRead = await timedRead(target, state, settings)
    const afterLoad = await timedRead(target, state, settings)
    await target.database.analyze()
    const afterAnalyze = await timedRead(target, state, settings)
    return {
      operations: 3 * settings.feedRecords,
      values: {
        afterLoadRecordsPerSecond: afterLoad,
        afterAnalyzeRecordsPerSecond: afterAnalyze,
        firstReadRecordsPerSecond: firstRead,
        loadSeconds: state.seedSeconds
      }
    }
  }
}
