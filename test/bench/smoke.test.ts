import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { BenchResult } from '../../bench/results.js'
import { browserSkipReason } from '../helpers/browser.js'

/**
 * Keeps the benchmark harness (bench/, `npm run bench`) from rotting: every
 * workload, tiny, against roost-sqlite and feathers-sqlite, then sanity checks
 * on the result JSON and on the cleanup. The numbers themselves are not
 * judged: other tests run alongside.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const work = mkdtempSync(path.join(tmpdir(), 'roost-bench-smoke-'))
const out = path.join(work, 'results')
// The run's temporary folders (its SQLite databases) go here, so the test can see they are gone.
const temp = path.join(work, 'tmp')
mkdirSync(temp)
let child: ChildProcess | undefined

afterAll(() => {
  child?.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
})

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: temp },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => {
      child?.kill('SIGINT') // the harness cleans up on SIGINT
      reject(new Error(`the benchmark did not finish within ${timeoutMs / 1000} s:\n${output}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('benchmark harness', () => {
  it('runs a tiny version of every workload on roost-sqlite and feathers-sqlite, and cleans up', async () => {
    const { code, output } = await runBench(
      [
        ...['--target', 'roost-sqlite,feathers-sqlite', '--runs', '1', '--seconds', '1', '--clients', '4'],
        ...['--bulk', '1000', '--feed', '3000', '--subscribers', '10', '--rate', '50', '--crowd', '30', '--crowd-rate', '20'],
        ...['--batch', '100', '--sync', '500', '--offline', '100'],
        ...['--out', out, '--no-benchmarks-md']
      ],
      // Chromium (W6's and W6e's IndexedDB store) launches once per Roost target and workload.
      150_000
    )
    expect(code, output).toBe(0)

    const result = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as BenchResult
    expect(readFileSync(path.join(out, 'latest.md'), 'utf8')).toContain('### W1 Versioned writes')
    expect(readFileSync(path.join(out, 'ratios.svg'), 'utf8')).toMatch(/^<svg /)
    expect(result.machine.cores).toBeGreaterThan(0)
    expect(result.workloads.map((workload) => workload.id)).toEqual(['W1', 'W1s', 'W1e', 'W2', 'W3', 'W3b', 'W4', 'W4k', 'W5', 'W6', 'W6e', 'W7', 'W8'])
    const byId = (id: string) => result.workloads.find((workload) => workload.id === id)!

    // The workloads both kinds of server run.
    for (const workload of ['W1', 'W1s', 'W2', 'W3', 'W3b', 'W4', 'W4k', 'W5'].map(byId)) {
      expect(workload.targets.map((target) => target.target)).toEqual(['roost-sqlite', 'feathers-sqlite'])
      for (const target of workload.targets) {
        const where = `${workload.id} ${target.target}`
        expect(target.error, where).toBeUndefined()
        expect(target.runs, where).toHaveLength(1)
        for (const metric of workload.metrics.filter((metric) => metric.key !== 'stagingMs')) {
          expect(target.summary[metric.key].median, `${where} ${metric.key}`).toBeGreaterThan(0)
        }
        expect(target.summary.cpuPercent.median, where).toBeGreaterThan(0)
        expect(target.summary.cpuPercent.median, where).toBeLessThan(400)
        expect(target.summary.peakRssMiB.median, where).toBeGreaterThan(20)
        expect(target.summary.peakRssMiB.median, where).toBeLessThan(4096)
      }
      const feathers = workload.ratios.find((ratio) => ratio.backend === 'sqlite' && ratio.versus === 'feathers')
      expect(feathers?.value, workload.id).toBeGreaterThan(0)
      expect(workload.goals.length, workload.id).toBeGreaterThan(0)
    }
    for (const target of [...byId('W1').targets, ...byId('W1s').targets]) {
      expect(target.summary.p99Ms.median).toBeGreaterThanOrEqual(target.summary.p50Ms.median)
    }
    for (const target of byId('W3').targets) expect(target.runs[0].operations).toBe(3000)
    // W3b reads its own fresh load three times: twice right after the load, once after ANALYZE.
    for (const target of byId('W3b').targets) expect(target.runs[0].operations).toBe(3 * 3000)
    for (const target of [...byId('W4').targets, ...byId('W4k').targets]) {
      expect(target.summary.deliveredPercent.median).toBeLessThanOrEqual(100)
      expect(target.summary.writeP99Ms.median).toBeGreaterThanOrEqual(target.summary.writeP50Ms.median)
    }
    // W1s compares itself with W1 of the same run.
    expect(byId('W1s').goals.find((goal) => goal.text.includes("Roost's own W1"))?.actual).toMatch(/×/)

    // W7 (sign-in flood) is Roost's alone: both phases measured, every sign-in answered 401 or 429.
    const w7 = byId('W7')
    expect(w7.targets.map((target) => [target.target, target.skipped])).toEqual([['roost-sqlite', undefined], ['feathers-sqlite', 'no sign-in']])
    const flood = w7.targets[0]
    expect(flood.error).toBeUndefined()
    for (const key of ['p99Ms', 'p50Ms', 'signInsPerSecond', 'limitedP99Ms', 'limitedSignInsPerSecond', 'idleP99Ms', 'knownAddressMs', 'unknownAddressMs']) {
      expect(flood.summary[key].median, `W7 ${key}`).toBeGreaterThan(0)
    }
    expect(flood.summary.limitedPercent.median).toBeGreaterThanOrEqual(0)
    expect(flood.summary.limitedPercent.median).toBeLessThanOrEqual(100)
    expect(w7.goals.map((goal) => goal.text)).toEqual([expect.stringMatching(/sign-in flood/)])

    // W1e (encrypted writes) is Roost's alone, and reports its ratio to W1 of the same run (no target to meet).
    const w1e = byId('W1e')
    expect(w1e.targets.map((target) => [target.target, target.skipped])).toEqual([['roost-sqlite', undefined], ['feathers-sqlite', 'no end-to-end encryption']])
    expect(w1e.targets[0].error).toBeUndefined()
    expect(w1e.targets[0].summary.writesPerSecond.median).toBeGreaterThan(0)
    expect(w1e.goals).toEqual([{ text: expect.stringMatching(/^SQLite: encrypted writes\/s ÷ W1's/), actual: expect.stringMatching(/×/) }])

    // W6 (initial sync), W6e (the same, encrypted) and W8 (offline push) run the client library against Roost only.
    const [w6, w6e, w8] = [byId('W6'), byId('W6e'), byId('W8')]
    for (const workload of [w6, w6e, w8]) {
      expect(workload.targets.map((target) => [target.target, target.skipped]), workload.id).toEqual([['roost-sqlite', undefined], ['feathers-sqlite', 'no client library']])
      expect(workload.targets[0].error, workload.id).toBeUndefined()
    }
    // W6: one goal per store (memory, SQLite, IndexedDB in Chromium); W8: one.
    expect(w6.goals.map((goal) => goal.text)).toEqual([expect.stringMatching(/memory store/), expect.stringMatching(/SQLite store/), expect.stringMatching(/IndexedDB store/)])
    expect(w8.goals.length).toBe(1)
    // W6e: per store, its median over W6's of the same run.
    expect(w6e.goals.map((goal) => goal.text)).toEqual([expect.stringMatching(/memory store/), expect.stringMatching(/SQLite store/), expect.stringMatching(/IndexedDB store/)])
    for (const goal of w6e.goals.slice(0, 2)) expect(goal.actual).toMatch(/×/)
    expect(w6e.targets[0].runs[0].operations).toBe(w6.targets[0].runs[0].operations)
    expect(w6.targets[0].runs[0].operations % 500).toBe(0)
    for (const key of ['memorySeconds', 'memoryPeakRssMiB']) expect(w6.targets[0].summary[key].median, `W6 ${key}`).toBeGreaterThan(0)
    // The IndexedDB store in Chromium: measured where Chromium is (CI must have it), else skipped with the reason printed.
    const noChromium = browserSkipReason()
    if (noChromium) {
      expect(output).toContain(`the IndexedDB store in Chromium is skipped: ${noChromium}`)
      expect(w6.targets[0].summary.indexeddbSeconds).toBeUndefined()
    } else {
      expect(output).not.toContain('IndexedDB store in Chromium is skipped')
      expect(w6.targets[0].runs[0].operations).toBe(3 * 500)
      for (const workload of [w6, w6e]) {
        for (const key of ['indexeddbSeconds', 'indexeddbHeapGrowthMiB']) expect(workload.targets[0].summary[key]?.median, `${workload.id} ${key}`).toBeGreaterThan(0)
      }
    }
    expect(w8.targets[0].runs[0].operations).toBe(100)
    for (const key of ['seconds', 'requests', 'writesPerSecond']) expect(w8.targets[0].summary[key].median, `W8 ${key}`).toBeGreaterThan(0)

    // Cleanup: the servers are gone, and so are their temporary folders.
    for (const info of result.targets) {
      expect(info.pid, info.name).toBeGreaterThan(0)
      expect(alive(info.pid!), `${info.name} (pid ${info.pid}) still runs`).toBe(false)
    }
    expect(readdirSync(temp).filter((name) => /^roost-(bench|chromium|page)-/.test(name))).toEqual([])
  }, 160_000)
})
