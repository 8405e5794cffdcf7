import { describe, expect, it } from 'vitest'
import { mergeInto } from '../../bench/merge.js'
import { benchmarksMarkdown } from '../../bench/report.js'
import type { BenchResult, WorkloadResult } from '../../bench/results.js'
import { DEFAULT_SETTINGS, type WorkloadId } from '../../bench/workloads/types.js'

/** --update-benchmarks: a partial run's workloads replace the full run's in benchmarks.json, and BENCHMARKS.md says where they come from. */
const workload = (id: WorkloadId, title: string, extra: Partial<WorkloadResult> = {}): WorkloadResult => ({
  id,
  title,
  description: `${title}.`,
  metrics: [{ key: 'seconds', label: 'seconds', unit: 's', better: 'lower' }],
  targets: [],
  ratios: [],
  goals: [],
  ...extra
})

const machine = (date: string, loadAverage: number) => ({ cpu: 'Test CPU', cores: 2, memoryGiB: 4, node: 'v20', os: 'Linux', loadAverage, date })

// A full run from before W8 existed and before W6 could run, whose settings lack the newer workloads' sizes.
const { syncRecords: _sync, offlineWrites: _offline, ...oldSettings } = DEFAULT_SETTINGS
const full = {
  startedAt: '2026-12-01T10:00:00.000Z',
  durationSeconds: 500,
  command: 'npm run bench',
  machine: machine('2026-12-01T10:00:00.000Z', 0.5),
  settings: oldSettings,
  complete: true,
  targets: [],
  workloads: [workload('W1', 'Writes'), workload('W6', 'Initial sync', { skipped: 'no client yet' }), workload('W7', 'Flood')]
} as unknown as BenchResult

const partial: BenchResult = {
  startedAt: '2026-12-02T21:00:00.000Z',
  durationSeconds: 60,
  command: 'npm run bench -- --workload W6,W8 --update-benchmarks',
  machine: machine('2026-12-02T21:00:00.000Z', 1.9),
  settings: { ...DEFAULT_SETTINGS, syncRecords: 10_000 },
  complete: false,
  targets: [],
  workloads: [workload('W6', 'Initial sync'), workload('W8', 'Offline push')],
  note: 'Shared machine.'
}

describe('mergeInto', () => {
  const merged = mergeInto(full, partial)

  it('replaces and adds the partial run’s workloads in workload order, keeping the rest', () => {
    expect(merged.workloads.map((w) => [w.id, w.skipped, w.from?.command])).toEqual([
      ['W1', undefined, undefined],
      ['W6', undefined, partial.command],
      ['W7', undefined, undefined],
      ['W8', undefined, partial.command]
    ])
    expect(merged.command).toBe('npm run bench')
    expect(merged.machine).toEqual(full.machine)
    expect(merged.settings.syncRecords).toBe(10_000)
    expect(merged.settings.offlineWrites).toBe(DEFAULT_SETTINGS.offlineWrites)
  })

  it('does not replace a measured workload with one the partial run skipped', () => {
    const skipping = { ...partial, workloads: [workload('W1', 'Writes', { skipped: 'not today' })] }
    expect(mergeInto(full, skipping).workloads[0]).toEqual(full.workloads[0])
  })

  it('says in BENCHMARKS.md which run a merged workload comes from, on what machine and how busy', () => {
    const markdown = benchmarksMarkdown(merged, 'chart.svg')
    const w6 = markdown.slice(markdown.indexOf('### W6 Initial sync'), markdown.indexOf('### W7'))
    expect(w6).toContain(`**Measured in a separate run**, not in the full run above: \`${partial.command}\` (3 run(s), 10,000 records)`)
    expect(w6).toContain('2026-12-02 21:00 UTC')
    expect(w6).toContain('**Busy machine:** load average 1.9 on 2 cores')
    expect(w6).toContain('Shared machine.')
    expect(w6).not.toContain('Skipped')
    const w1 = markdown.slice(markdown.indexOf('### W1 Writes'), markdown.indexOf('### W6'))
    expect(w1).not.toContain('separate run')
  })
})
