import type { BenchResult } from './results.js'
import { WORKLOAD_IDS } from './workloads/types.js'

/**
 * A partial run's workloads put into the last full run's results (what
 * BENCHMARKS.md is made from), replacing theirs; the rest of the full run is
 * kept as it was. Each merged workload records the run it comes from, so the
 * report can say that its numbers were measured separately (another time,
 * perhaps another load). Settings the full run did not have yet (a workload
 * added since) are taken from the partial run.
 */
export function mergeInto(full: BenchResult, partial: BenchResult): BenchResult {
  const from = {
    command: partial.command,
    startedAt: partial.startedAt,
    durationSeconds: partial.durationSeconds,
    machine: partial.machine,
    settings: partial.settings,
    ...(partial.note ? { note: partial.note } : {}),
    ...(partial.versions ? { versions: partial.versions } : {})
  }
  const replaced = new Map(partial.workloads.filter((workload) => !workload.skipped).map((workload) => [workload.id, { ...workload, from }]))
  const byId = new Map(full.workloads.map((workload) => [workload.id, workload]))
  for (const [id, workload] of replaced) byId.set(id, workload)
  const workloads = WORKLOAD_IDS.flatMap((id) => {
    const workload = byId.get(id)
    return workload ? [workload] : []
  })
  return { ...full, settings: { ...partial.settings, ...full.settings }, workloads }
}
